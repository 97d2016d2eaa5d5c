"""Builds the object graph of a role. The only place that reads configuration to choose implementations."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta

from prometheus_client.core import Metric

from veche import __version__
from veche.app.license_seats import LicenseSeats
from veche.app.media_engine import MediaEngine
from veche.app.service import AppService
from veche.base.account_watch import AccountWatch
from veche.base.auth import AuthService
from veche.base.chat_archive import ChatArchive
from veche.base.conferences import ConferenceService
from veche.base.directory.address_book import AddressBook
from veche.base.directory.calls import IncomingCalls
from veche.base.directory.login import DirectoryLogin
from veche.base.directory.presence import PresenceTracker
from veche.base.directory.server import DirectoryServer
from veche.base.directory.sync_requests import DirectorySyncRequests
from veche.base.directory.sync_service import DirectorySync
from veche.base.directory.sync_status import SyncStatusReporter
from veche.base.signaling_placement import PlacementJanitor, SignalingPlacement
from veche.base.user_admin import UserAdmin
from veche.bus.base import Bus
from veche.bus.inproc import InProcessBus
from veche.config.settings import VecheSettings, read_or_create_secret
from veche.domain.clock import utc_now
from veche.domain.directory import access_mask
from veche.domain.login_throttle import LoginThrottle
from veche.manager.license_file import InstalledLicense
from veche.manager.license_pool import LicensePool
from veche.manager.registry import ServerRegistry
from veche.manager.server_admin import ServerAdmin
from veche.manager.usage_recorder import UsageRecorder
from veche.metrics import (
    ServerMetrics,
    app_metrics,
    bus_metrics,
    cluster_metrics,
    license_pool_metrics,
    license_seat_metrics,
)
from veche.node.agent import NodeState, ServerAgent, load_server_id
from veche.storage.address_book import AddressBookStore
from veche.storage.cluster import PlacementStore, ServerCatalogStore, SharedSettingsStore
from veche.storage.conferences import ChatStore, ConferenceStore
from veche.storage.database import Database
from veche.storage.directory import DirectoryStore
from veche.storage.directory_status import SyncStatusStore
from veche.storage.licenses import LicenseStore
from veche.storage.statistics_layouts import StatisticsLayoutStore
from veche.storage.usage_stats import UsageStatsStore
from veche.storage.users import SessionStore, UserStore

__all__ = ["Container", "ALL_ROLES"]

ALL_ROLES = ["manager", "base", "web", "app"]


class Container:
    """Every dependency is a cached ``get_<name>()``; roles pick what they need."""

    def __init__(self, settings: VecheSettings, roles: list[str]) -> None:
        self.settings = settings
        self.roles = roles
        self.server_id = load_server_id(settings.data_dir)
        self._bus: Bus | None = None
        # Called with "restart" or "shutdown" when the manager asks; the CLI's server loop sets it.
        self.lifecycle: Callable[[str], None] = lambda action: None

    @functools.cache  # noqa: B019 - one container per process, lives as long as it
    def get_secret_key(self) -> bytes:
        return self.settings.secret_key()

    @functools.cache  # noqa: B019
    def get_database(self) -> Database:
        return Database(self.settings.database_url)

    def get_bus(self) -> Bus:
        """The in-process bus of `veche up`, or the NATS bus once :meth:`connect_bus` ran."""
        if self._bus is None:
            if self.settings.bus.servers:
                raise RuntimeError("the NATS bus is connected in Container.start()")
            self._bus = InProcessBus(self.server_id)
        return self._bus

    async def connect_bus(self) -> Bus:
        if self._bus is None and self.settings.bus.servers:
            from veche.bus.nats import NatsBus

            self._bus = await NatsBus.connect(
                self.settings.bus.servers, server_id=self.server_id, name=f"veche-{'+'.join(self.roles)}"
            )
        return self.get_bus()

    @functools.cache  # noqa: B019
    def get_join_token(self) -> str:
        path = self.settings.cluster.join_token_file or self.settings.data_dir / "join_token"
        return read_or_create_secret(path)

    @functools.cache  # noqa: B019
    def get_metrics_token(self) -> str:
        """The bearer token a Prometheus scraper sends: its own file, or else the cluster's join token."""
        path = self.settings.metrics.token_file
        return read_or_create_secret(path) if path is not None else self.get_join_token()

    @functools.cache  # noqa: B019
    def get_metrics(self) -> ServerMetrics:
        """What /metrics shows for this process's roles. Sources are read when scraped (after start)."""
        metrics = ServerMetrics(version=__version__, roles=self.roles)

        async def bus() -> list[Metric]:
            return bus_metrics(self.get_bus().round_trips)

        metrics.add_source(bus)
        if "app" in self.roles:

            async def app() -> list[Metric]:
                return [*await app_metrics(self.get_app_service()), *license_seat_metrics(self.get_license_seats())]

            metrics.add_source(app)
        if "manager" in self.roles:

            async def manager() -> list[Metric]:
                return [*license_pool_metrics(self.get_license_pool()), *cluster_metrics(self.get_registry())]

            metrics.add_source(manager)
        return metrics

    @functools.cache  # noqa: B019
    def get_agent(self) -> ServerAgent:
        cluster = self.settings.cluster
        return ServerAgent(
            self.get_bus(),
            server_id=self.server_id,
            roles=self.roles,
            data_dir=self.settings.data_dir,
            join_token=self.get_join_token(),
            defaults=NodeState(name=cluster.name, region=cluster.region, max_participants=cluster.max_participants),
            signaling_url=self.settings.signaling.public_url or "",
            bandwidth_capacity_bps=cluster.bandwidth_capacity_bps,
        )

    @functools.cache  # noqa: B019
    def get_server_admin(self) -> ServerAdmin:
        sessions = self.get_database().sessions
        return ServerAdmin(
            self.get_bus(),
            self.get_registry(),
            ServerCatalogStore(sessions),
            SharedSettingsStore(sessions),
            utc_now,
            join_token=self.get_join_token(),
            auto_approve=self.settings.cluster.auto_approve,
            own_server_id=self.server_id,
            handles_registration="manager" in self.roles,
        )

    @functools.cache  # noqa: B019
    def get_placement_janitor(self) -> PlacementJanitor:
        return PlacementJanitor(self.get_bus(), PlacementStore(self.get_database().sessions))

    @functools.cache  # noqa: B019
    def get_account_watch(self) -> AccountWatch:
        return AccountWatch(self.get_bus(), self.get_user_store())

    @functools.cache  # noqa: B019
    def get_signaling_placement(self) -> SignalingPlacement:
        return SignalingPlacement(
            self.get_registry(), PlacementStore(self.get_database().sessions), self.get_bus(), utc_now
        )

    @functools.cache  # noqa: B019
    def get_user_store(self) -> UserStore:
        return UserStore(self.get_database().sessions)

    @functools.cache  # noqa: B019
    def get_auth(self) -> AuthService:
        security = self.settings.security
        return AuthService(
            self.get_user_store(),
            SessionStore(self.get_database().sessions),
            utc_now,
            session_ttl=timedelta(hours=security.session_ttl_hours),
            throttle=LoginThrottle(max_failures=security.login_max_failures, window_s=security.login_window_s),
            directory=self.get_directory_login(),
        )

    @functools.cache  # noqa: B019
    def get_user_admin(self) -> UserAdmin:
        """The console's and the API's account management (edit, disable, reset a password, delete)."""
        return UserAdmin(
            self.get_user_store(),
            SessionStore(self.get_database().sessions),
            self.get_bus(),
            utc_now,
            self.get_auth().hash_password,
        )

    @functools.cache  # noqa: B019
    def get_conferences(self) -> ConferenceService:
        return ConferenceService(
            ConferenceStore(self.get_database().sessions),
            self.get_user_store(),
            utc_now,
            self.get_secret_key(),
        )

    @functools.cache  # noqa: B019
    def get_chat_archive(self) -> ChatArchive:
        days = self.settings.chat.retention_days
        retention = timedelta(days=days) if days else None
        return ChatArchive(self.get_bus(), ChatStore(self.get_database().sessions), retention=retention, clock=utc_now)

    @functools.cache  # noqa: B019
    def get_registry(self) -> ServerRegistry:
        return ServerRegistry(self.get_bus())

    @functools.cache  # noqa: B019
    def get_media_engine(self) -> MediaEngine:
        from veche.app.janus.engine import JanusMediaEngine

        return JanusMediaEngine(self.settings.janus, self.settings.data_dir)

    @functools.cache  # noqa: B019
    def get_app_service(self) -> AppService:
        return AppService(
            self.get_media_engine(),
            self.get_bus(),
            server_id=self.server_id,
            bitrate_bps=self.settings.signaling.room_bitrate_bps,
            admission=self.get_license_seats(),
        )

    @functools.cache  # noqa: B019
    def get_license_seats(self) -> LicenseSeats:
        return LicenseSeats(
            self.get_bus(),
            server_id=self.server_id,
            region=self.settings.cluster.region,
            terms=self.settings.leases.terms(),
        )

    @functools.cache  # noqa: B019
    def get_installed_license(self) -> InstalledLicense:
        return InstalledLicense(self.settings.data_dir, self.settings.license.trusted_key_texts())

    @functools.cache  # noqa: B019
    def get_license_pool(self) -> LicensePool:
        return LicensePool(
            self.get_bus(),
            LicenseStore(self.get_database().sessions),
            self.get_installed_license(),
            terms=self.settings.leases.terms(),
            reservations=self.settings.leases.reserved(),
            wall=utc_now,
            today=lambda: utc_now().date(),
        )

    # -- statistics -------------------------------------------------------------------------------------------

    @functools.cache  # noqa: B019
    def get_usage_stats(self) -> UsageStatsStore:
        """Samples and roll-ups (written by the manager, read by web servers for the Statistics page)."""
        return UsageStatsStore(self.get_database().sessions)

    @functools.cache  # noqa: B019
    def get_statistics_layouts(self) -> StatisticsLayoutStore:
        """Each administrator's arrangement of the Statistics page."""
        return StatisticsLayoutStore(self.get_database().sessions)

    @functools.cache  # noqa: B019
    def get_usage_recorder(self) -> UsageRecorder:
        return UsageRecorder(
            self.get_bus(),
            self.get_usage_stats(),
            self.settings.statistics,
            refusals_of=self.get_license_pool().refusals_of,
            license_in_use=self.get_license_pool().in_use,
        )

    # -- directory (LDAP / AD sources, address book, presence) -------------------------------------------------

    @functools.cache  # noqa: B019
    def get_directory_store(self) -> DirectoryStore:
        return DirectoryStore(self.get_database().sessions)

    @functools.cache  # noqa: B019
    def get_directory_servers(self) -> dict[str, DirectoryServer]:
        from veche.base.directory.ldap.server import LdapDirectoryServer

        return {s.name: LdapDirectoryServer(s) for s in self.settings.directory.sources}

    @functools.cache  # noqa: B019
    def get_directory_status(self) -> SyncStatusStore:
        """What the console shows of each source's sync (written by base servers, read by web servers)."""
        return SyncStatusStore(self.get_database().sessions)

    @functools.cache  # noqa: B019
    def get_directory_sync(self) -> DirectorySync:
        return DirectorySync(
            self.settings.directory,
            self.get_directory_servers(),
            self.get_directory_store(),
            utc_now,
            SyncStatusReporter(self.get_directory_status(), utc_now),
        )

    @functools.cache  # noqa: B019
    def get_directory_sync_requests(self) -> DirectorySyncRequests:
        return DirectorySyncRequests(self.get_bus(), self.get_directory_sync())

    @functools.cache  # noqa: B019
    def get_directory_login(self) -> DirectoryLogin | None:
        if not self.settings.directory.sources:
            return None
        return DirectoryLogin(
            self.get_directory_servers(),
            self.get_directory_sync().rules,
            self.get_directory_store(),
            self.get_user_store(),
            utc_now,
        )

    @functools.cache  # noqa: B019
    def get_presence(self) -> PresenceTracker:
        return PresenceTracker(self.get_bus(), online_ttl_s=self.settings.directory.presence_ttl_s)

    @functools.cache  # noqa: B019
    def get_address_book(self) -> AddressBook:
        local_access = access_mask([self.settings.directory.local_access])
        return AddressBook(
            AddressBookStore(self.get_database().sessions, local_access=local_access),
            self.get_presence(),
            self.get_conferences(),
            self.get_incoming_calls(),
        )

    @functools.cache  # noqa: B019
    def get_incoming_calls(self) -> IncomingCalls:
        return IncomingCalls(self.get_bus(), ring_s=self.settings.directory.ring_s)

    @property
    def uses_database(self) -> bool:
        return bool({"manager", "base", "web"} & set(self.roles))

    async def start(self) -> None:
        """Start what the roles of this process need, in dependency order."""
        await self.connect_bus()
        if self.uses_database:
            await self.get_database().migrate()
        agent = self.get_agent()
        agent.lifecycle = self.lifecycle
        if "base" in self.roles:
            self.get_chat_archive()
            self.get_placement_janitor()
            self.get_account_watch()
            self.get_presence()
            if self.settings.directory.sources:
                self.get_directory_sync_requests().start()  # the console's "Sync now"
                if self.settings.directory.watch:
                    self.get_directory_sync().start()
        if "manager" in self.roles:
            await self.get_server_admin().start()
            await self.get_license_pool().start()
            await self.get_usage_recorder().start()
        if "web" in self.roles:
            self.get_signaling_placement()
            # Listen from the start: presence and ringing calls are rebuilt only from what the bus says.
            self.get_presence()
            self.get_incoming_calls()
            if "manager" not in self.roles:
                await self.get_server_admin().start()
        if "app" in self.roles:
            app = self.get_app_service()
            await app.start()
            self.get_license_seats().end_excess = app.end_excess
            await self.get_license_seats().start()
            agent.app_figures = app.figures
            agent.engine_status = app.engine_status
            agent.on_settings(app.apply_settings)
        await agent.start(manager_here="manager" in self.roles)

    async def stop(self) -> None:
        await self.get_agent().stop()
        if "base" in self.roles and self.settings.directory.sources:
            await self.get_directory_sync().stop()
        if "app" in self.roles:
            await self.get_app_service().stop()
            await self.get_license_seats().stop()
        if "manager" in self.roles:
            await self.get_usage_recorder().stop()
            await self.get_license_pool().stop()
        await self.get_bus().close()
        if self.uses_database:
            await self.get_database().close()
