"""Builds the object graph of a role. The only place that reads configuration to choose implementations."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path

from prometheus_client.core import Metric

from veche import __version__
from veche.app.call_log_sender import CallLogSender
from veche.app.license_seats import LicenseSeats
from veche.app.media_engine import MediaEngine
from veche.app.service import AppService
from veche.app.sip.dial_in import DialIn
from veche.app.sip.directory import BusConferenceDirectory
from veche.app.sip.listener import SipListener
from veche.base.account_watch import AccountWatch
from veche.base.auth import AuthService
from veche.base.call_history import CallHistory
from veche.base.call_log import CallLog
from veche.base.chat_archive import ChatArchive
from veche.base.chats.access import ChatAccessRules
from veche.base.chats.delivery import ChatDelivery
from veche.base.chats.post_office import ChatPostOffice
from veche.base.chats.service import ChatService
from veche.base.conferences import ConferenceService
from veche.base.dial_in_directory import DialInDirectory
from veche.base.directory.address_book import AddressBook
from veche.base.directory.calls import IncomingCalls
from veche.base.directory.login import DirectoryLogin
from veche.base.directory.presence import PresenceTracker
from veche.base.directory.server import DirectoryServer
from veche.base.directory.sync_requests import DirectorySyncRequests
from veche.base.directory.sync_service import DirectorySync
from veche.base.directory.sync_status import SyncStatusReporter
from veche.base.files.blobs import BlobStore
from veche.base.files.retention import ChatFileRetention
from veche.base.files.scan import FileScanner
from veche.base.files.service import ChatFiles
from veche.base.meeting_mail import MeetingMail
from veche.base.meeting_reminders import MeetingReminders
from veche.base.meetings import MeetingService
from veche.base.notify.mobile_push import PushProvider, RecordingProvider
from veche.base.notify.notifier import NotificationService
from veche.base.notify.outbox import MailOutbox
from veche.base.notify.push_sender import PushSender
from veche.base.notify.smtp_sender import SmtpSender
from veche.base.notify.vapid import VapidKeys, load_or_create_vapid
from veche.base.notify.wakeup import QueueWakeup
from veche.base.notify.webpush import WebPushSender
from veche.base.profiles import ProfileService
from veche.base.signaling_placement import PlacementJanitor, SignalingPlacement
from veche.base.user_admin import UserAdmin
from veche.base.work_once import WorkOnce
from veche.bus.base import Bus
from veche.bus.inproc import InProcessBus
from veche.config.settings import VecheSettings, read_or_create_secret
from veche.domain.clock import utc_now
from veche.domain.directory import access_mask
from veche.domain.login_throttle import LoginThrottle
from veche.manager.leadership import ManagerLeadership
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
from veche.node.tls import server_certificate
from veche.storage.address_book import AddressBookStore
from veche.storage.call_history import CallHistoryStore
from veche.storage.chat_posts import ConferenceChatPosts
from veche.storage.chats import ChatStore as ChatsStore
from veche.storage.cluster import PlacementStore, ServerCatalogStore, SharedSettingsStore
from veche.storage.conferences import ChatStore, ConferenceStore
from veche.storage.database import Database
from veche.storage.directory import DirectoryStore
from veche.storage.directory_leases import WatchLeaseStore
from veche.storage.directory_status import SyncStatusStore
from veche.storage.leader_lock import LeaderLockStore
from veche.storage.licenses import LicenseStore
from veche.storage.login_throttle import LoginThrottleStore
from veche.storage.meetings import MeetingStore
from veche.storage.notifications import MailQueueStore, NoticeStore, PushTargetStore
from veche.storage.statistics_layouts import StatisticsLayoutStore
from veche.storage.usage_stats import UsageStatsStore
from veche.storage.users import SessionStore, UserStore
from veche.storage.work_claims import WorkClaimStore

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
            serving=self.get_manager_leadership().is_active if "manager" in self.roles else lambda: True,
        )

    @functools.cache  # noqa: B019
    def get_manager_leadership(self) -> ManagerLeadership:
        """One active manager, the others standby (docs/operations.md): only the active one serves."""
        cluster = self.settings.cluster
        pool, recorder = self.get_license_pool, self.get_usage_recorder

        async def elected() -> int:
            await pool().start()  # a new epoch: grants of the manager before are ignored from now on
            await recorder().start()
            return pool().epoch

        async def deposed() -> None:
            await pool().stop()
            await recorder().stop()

        return ManagerLeadership(
            LeaderLockStore(self.get_database().sessions),
            holder=f"{cluster.name or self.server_id}@{self.server_id}",
            ttl_s=cluster.leader_ttl_s,
            renew_s=cluster.leader_renew_s,
            wall=utc_now,
            elected=elected,
            deposed=deposed,
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
            shared_throttle=LoginThrottleStore(self.get_database().sessions),  # every web server counts them
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
        return ChatArchive(
            self.get_bus(),
            ChatStore(self.get_database().sessions),
            retention=retention,
            clock=utc_now,
            once=self.get_work_once(),  # several base servers hear each message: one stores it
            posts=ConferenceChatPosts(self.get_database().sessions),  # a resent post is not stored twice
        )

    @functools.cache  # noqa: B019
    def get_work_once(self, keep: bool = True) -> WorkOnce:
        """Work every base server hears of, done by the one that claims it (``keep``: duplicates heard later are
        left alone too; without, only doing it at the same time is prevented)."""
        return WorkOnce(
            WorkClaimStore(self.get_database().sessions),
            self.server_id,
            utc_now,
            keep=timedelta(minutes=10) if keep else timedelta(0),
        )

    # -- persistent chats (docs/chat.md) --------------------------------------------------------------------

    @functools.cache  # noqa: B019
    def get_chats_store(self) -> ChatsStore:
        return ChatsStore(self.get_database().sessions)

    @functools.cache  # noqa: B019
    def get_chat_service(self) -> ChatService:
        """The chats API's service (web role); also who may read a chat and how files are posted to one."""
        sessions = self.get_database().sessions
        return ChatService(
            self.get_chats_store(),
            ChatAccessRules(self.get_chats_store(), ConferenceStore(sessions), self.get_user_store()),
            self.get_bus(),
            self.get_presence(),
            self.get_address_book(),
            self.get_conferences(),
            clock=utc_now,
        )

    def get_chat_access(self) -> ChatService:
        """Who may read a chat (veche.domain.chat_access.ChatAccess)."""
        return self.get_chat_service()

    def get_chat_poster(self) -> ChatService:
        """Posts a file to a chat (veche.domain.chat_access.ChatPoster)."""
        return self.get_chat_service()

    # -- files in chats (docs/files.md) -------------------------------------------------------------------

    @functools.cache  # noqa: B019
    def get_blob_store(self) -> BlobStore:
        """Where chat files' bytes are kept: a directory, or an S3-compatible bucket."""
        files = self.settings.files
        if files.storage == "s3":
            from veche.base.files.s3_blobs import S3BlobStore

            s3 = files.s3
            secret = s3.secret_access_key_file.read_text().strip() if s3.secret_access_key_file else ""
            return S3BlobStore(
                bucket=s3.bucket,
                endpoint_url=s3.endpoint_url,
                region=s3.region,
                access_key_id=s3.access_key_id,
                secret_access_key=secret,
                prefix=s3.prefix,
                path_style=s3.path_style,
            )
        from veche.base.files.filesystem_blobs import FilesystemBlobStore

        return FilesystemBlobStore(files.directory or self.settings.data_dir / "files")

    @functools.cache  # noqa: B019
    def get_file_scanner(self) -> FileScanner:
        from veche.base.files.scan import CommandScanner, NoScanner

        files = self.settings.files
        return CommandScanner(files.scan_command, timeout_s=files.scan_timeout_s) if files.scan_command else NoScanner()

    @functools.cache  # noqa: B019
    def get_chat_files(self) -> ChatFiles:
        """Files sent in chats: uploads and downloads for members (web role; docs/files.md)."""
        from veche.base.files.service import FilePolicy
        from veche.storage.chat_files import ChatFileStore

        files = self.settings.files
        return ChatFiles(
            ChatFileStore(self.get_database().sessions),
            self.get_blob_store(),
            self.get_file_scanner(),
            self.get_chat_access(),
            self.get_chat_poster(),
            FilePolicy(files.max_size_bytes, tuple(files.allowed_types), files.quota_bytes),
            temp_dir=self.settings.data_dir / "files-incoming",
            clock=utc_now,
        )

    @functools.cache  # noqa: B019
    def get_chat_file_retention(self) -> ChatFileRetention:
        """Deletes chat files past the chat retention and those of deleted chats (base role, hourly)."""
        from veche.storage.chat_files import ChatFileStore

        days = self.settings.chat.retention_days
        return ChatFileRetention(
            ChatFileStore(self.get_database().sessions),
            self.get_blob_store(),
            retention=timedelta(days=days) if days else None,
            clock=utc_now,
        )

    @functools.cache  # noqa: B019
    def get_chat_post_office(self) -> ChatPostOffice:
        """Stores posted chat messages and announces them (base role)."""
        return ChatPostOffice(
            self.get_bus(),
            self.get_chats_store(),
            clock=utc_now,
            after_storing=self.get_chat_archive().purge_if_due,
            notifier=self.get_notifier(),
            once=self.get_work_once(),  # several base servers hear each post: one stores it
        )

    @functools.cache  # noqa: B019
    def get_chat_delivery(self) -> ChatDelivery:
        """Hands stored chat messages to the members' open pages (web role)."""
        return ChatDelivery(self.get_bus(), self.get_chats_store())

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
            call_log=self.get_call_log_sender(),
        )

    @functools.cache  # noqa: B019
    def get_sip_listener(self) -> SipListener:
        """SIP dial-in (docs/sip.md), app role: numbers are looked up in the base role over the bus."""
        dial_in = DialIn(BusConferenceDirectory(self.get_bus()), self.get_license_seats())
        return SipListener(
            self.settings.sip, dial_in, host=self.settings.http.host, certificate=self._sip_certificate()
        )

    def _sip_certificate(self) -> tuple[Path, Path] | None:
        """SIP over TLS uses the HTTPS certificate: the configured pair, else the one generated for HTTPS."""
        http = self.settings.http
        if self.settings.sip.tls_port is None:
            return None
        if http.tls_cert_file is not None and http.tls_key_file is not None:
            return http.tls_cert_file, http.tls_key_file
        cert = server_certificate(http, self.settings.data_dir, utc_now()) if http.tls else None
        return (cert.cert_file, cert.key_file) if cert is not None else None

    @functools.cache  # noqa: B019
    def get_dial_in_directory(self) -> DialInDirectory:
        """Base role: which conference a dialled number is, for the app servers' SIP listeners."""
        return DialInDirectory(self.get_bus(), ConferenceStore(self.get_database().sessions), self.get_meetings())

    # -- call history (docs/call-history.md) --------------------------------------------------------------------

    @functools.cache  # noqa: B019
    def get_call_log_sender(self) -> CallLogSender:
        """The app role's participant sessions, sent to the base role until acknowledged."""
        return CallLogSender(
            self.get_bus(),
            self.get_media_engine(),
            server_id=self.server_id,
            sample_s=self.settings.history.media_sample_s,
        )

    @functools.cache  # noqa: B019
    def get_call_history(self) -> CallHistoryStore:
        """The stored call history (written by the base role, read by web servers)."""
        return CallHistoryStore(self.get_database().sessions)

    @functools.cache  # noqa: B019
    def get_call_log(self) -> CallLog:
        """Stores what app servers send and closes what dead servers left open (base role)."""
        return CallLog(
            self.get_bus(),
            self.get_call_history(),
            retention_days=self.settings.history.retention_days,
            once=self.get_work_once(keep=False),  # one base server at a time stores a batch
        )

    @functools.cache  # noqa: B019
    def get_call_history_view(self) -> CallHistory:
        """Who may see which calls of the history (web role)."""
        return CallHistory(self.get_call_history())

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
            manager=self.settings.cluster.name or self.server_id,
            takeovers=lambda: self.get_manager_leadership().takeovers(),
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
            WatchLeaseStore(self.get_database().sessions),  # with several base servers, one follows each source
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
        # Calls placed here that end unanswered become "missed_call" notices for the callee.
        return IncomingCalls(self.get_bus(), ring_s=self.settings.directory.ring_s, notifier=self.get_notifier())

    # -- notifications (mail queue, in-app notices, Web Push, mobile push: docs/notifications.md) -------------

    @functools.cache  # noqa: B019
    def get_mailer(self) -> MailOutbox:
        """Queues mails durably (any role with the database); the base role's SMTP sender sends them."""
        outbox = MailOutbox(MailQueueStore(self.get_database().sessions), utc_now, sender=self.settings.smtp.from_)
        if "base" in self.roles:
            outbox.on_enqueued(self.get_smtp_sender().wake)
        else:
            outbox.on_enqueued(lambda: self.get_queue_wakeup().mail_queued())  # base servers hear it on the bus
        return outbox

    @functools.cache  # noqa: B019
    def get_queue_wakeup(self) -> QueueWakeup:
        return QueueWakeup(self.get_bus())

    @functools.cache  # noqa: B019
    def get_smtp_sender(self) -> SmtpSender:
        """Sends the queued mails (base role)."""
        store = MailQueueStore(self.get_database().sessions)
        return SmtpSender(store, self.settings.smtp, utc_now, worker=self.server_id)

    @functools.cache  # noqa: B019
    def get_notifier(self) -> NotificationService:
        """Stores notices and queues their push and mail deliveries (sent by the base role)."""
        notifier = NotificationService(
            NoticeStore(self.get_database().sessions),
            self.get_mailer(),
            utc_now,
            public_url=self.public_base_url(),  # links in mails are absolute
        )
        if "base" in self.roles:
            notifier.on_pushes_queued(self.get_push_sender().wake)
        else:
            notifier.on_pushes_queued(lambda: self.get_queue_wakeup().push_queued())
        return notifier

    @functools.cache  # noqa: B019
    def get_push_targets(self) -> PushTargetStore:
        """Browsers' Web Push subscriptions, devices' push tokens and the queue of pushes to them."""
        return PushTargetStore(self.get_database().sessions)

    @functools.cache  # noqa: B019
    def get_vapid_keys(self) -> VapidKeys:
        """The Web Push key pair: web servers give out the public key, base servers sign with the private one."""
        return load_or_create_vapid(self.settings.push.vapid_private_key_file or self.settings.data_dir / "vapid.pem")

    @functools.cache  # noqa: B019
    def get_push_providers(self) -> dict[str, PushProvider]:
        """Mobile push providers by name (devices register under one); real ones are external services."""
        if self.settings.push.mobile_provider == "record":
            return {"test": RecordingProvider("test")}
        return {}

    @functools.cache  # noqa: B019
    def get_push_sender(self) -> PushSender:
        """Delivers queued pushes to browsers and devices (base role)."""
        push = self.settings.push
        web = WebPushSender(
            self.get_vapid_keys(),
            subject=push.vapid_subject or f"mailto:{parseaddr(self.settings.smtp.from_)[1]}",
            ttl_s=push.ttl_s,
            timeout_s=push.timeout_s,
            workers=push.workers,
        )
        return PushSender(self.get_push_targets(), web, self.get_push_providers(), push, utc_now, worker=self.server_id)

    # -- scheduled meetings (docs/meetings.md) ----------------------------------------------------------------

    def public_base_url(self) -> str:
        """Where people reach the web pages, for links in mails (``http.public_url``, else this server's)."""
        http = self.settings.http
        if http.public_url:
            return http.public_url.rstrip("/")
        host = "localhost" if http.host in ("0.0.0.0", "::", "") else http.host
        return f"{'https' if http.tls else 'http'}://{host}:{http.port}"

    @functools.cache  # noqa: B019
    def get_meeting_mail(self) -> MeetingMail:
        return MeetingMail(base_url=self.public_base_url(), key=self.get_secret_key())

    @functools.cache  # noqa: B019
    def get_meetings(self) -> MeetingService:
        config = self.settings.meetings
        return MeetingService(
            MeetingStore(self.get_database().sessions),
            self.get_conferences(),
            self.get_user_store(),
            self.get_meeting_mail(),
            self.get_mailer(),
            self.get_notifier(),
            utc_now,
            key=self.get_secret_key(),
            open_before=timedelta(minutes=config.open_before_minutes),
            max_invitees=config.max_invitees,
            uid_domain=self.settings.smtp.sender_domain,
            pin_counters=LoginThrottleStore(self.get_database().sessions),  # every web server counts wrong PINs
        )

    @functools.cache  # noqa: B019
    def get_profiles(self) -> ProfileService:
        """Each user's own profile (account page)."""
        return ProfileService(self.get_user_admin(), MeetingStore(self.get_database().sessions))

    @functools.cache  # noqa: B019
    def get_meeting_reminders(self) -> MeetingReminders:
        """Sends reminders before each occurrence (base role)."""
        config = self.settings.meetings
        return MeetingReminders(
            self.get_meetings(),
            self.get_user_store(),
            self.get_meeting_mail(),
            self.get_mailer(),
            self.get_notifier(),
            utc_now,
            leads=config.reminder_minutes,
            interval_s=config.reminder_interval_s,
        )

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
            self.get_chat_post_office()
            self.get_chat_file_retention().start()  # deletes chat files past the chat retention, hourly
            self.get_call_log().start()
            self.get_dial_in_directory()
            self.get_placement_janitor()
            self.get_account_watch()
            self.get_presence()
            await self.get_smtp_sender().start()  # drains the mail queue (docs/notifications.md)
            await self.get_push_sender().start()  # Web Push and mobile push
            self.get_queue_wakeup().listen(mail=self.get_smtp_sender().wake, push=self.get_push_sender().wake)
            self.get_meeting_reminders().start()  # reminders before scheduled meetings (docs/meetings.md)
            if self.settings.directory.sources:
                self.get_directory_sync_requests().start()  # the console's "Sync now"
                if self.settings.directory.watch:
                    self.get_directory_sync().start()
        if "manager" in self.roles:
            await self.get_server_admin().start()
            await self.get_manager_leadership().start()  # starts the license pool and statistics when active
        if "web" in self.roles:
            self.get_signaling_placement()
            self.get_chat_delivery()
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
            await self.get_sip_listener().start()  # after the license seats: calls take gateway connections
        await agent.start(manager_here="manager" in self.roles)

    async def stop(self) -> None:
        await self.get_agent().stop()
        if "web" in self.roles:
            self.get_chat_delivery().close()  # open chat streams end; their pages reconnect
        if "base" in self.roles:
            await self.get_chat_file_retention().stop()
            await self.get_smtp_sender().stop()
            await self.get_meeting_reminders().stop()
        if "base" in self.roles and self.settings.directory.sources:
            await self.get_directory_sync().stop()
        if "app" in self.roles:
            await self.get_sip_listener().stop()
            await self.get_app_service().stop()
            await self.get_license_seats().stop()
        if "base" in self.roles:
            await self.get_call_log().stop()  # after the app role: its last sessions are stored
        if "manager" in self.roles:
            await self.get_manager_leadership().stop()
        await self.get_bus().close()
        if self.uses_database:
            await self.get_database().close()
