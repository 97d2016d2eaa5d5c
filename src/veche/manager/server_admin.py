"""The manager's side of the server registry: registration with a join token, approval, edits, drain,
remote restart and shutdown (acknowledged over the bus), removal, and the shared settings."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from veche.bus.base import Bus, BusError
from veche.bus.messages import (
    BusMessage,
    BusRequest,
    CommandResult,
    RegisterServer,
    Registration,
    RestartServer,
    ServerHeartbeat,
    SettingsChanged,
    ShutdownServer,
    UpdateServer,
)
from veche.domain.clock import Clock
from veche.domain.errors import InvalidInput, NotFound, Unavailable
from veche.domain.names import clean_name
from veche.domain.server_snapshot import ServerStatus
from veche.domain.shared_settings import SharedSettings
from veche.manager.registry import ServerRegistry
from veche.storage.cluster import CatalogEntry, ServerCatalogStore, SharedSettingsStore

__all__ = ["ServerAdmin", "ServerInfo"]

logger = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 3.0
R = TypeVar("R", bound=BusMessage)
_LIFECYCLE: dict[str, type[RestartServer] | type[ShutdownServer]] = {
    "restart": RestartServer,
    "shutdown": ShutdownServer,
}


@dataclass(frozen=True)
class ServerInfo:
    """A server as the console shows it: the catalog entry joined with its latest heartbeat."""

    entry: CatalogEntry
    status: str  # pending | up | down | draining
    heartbeat: ServerHeartbeat | None


class ServerAdmin:
    def __init__(
        self,
        bus: Bus,
        registry: ServerRegistry,
        catalog: ServerCatalogStore,
        settings_store: SharedSettingsStore,
        clock: Clock,
        *,
        join_token: str,
        auto_approve: bool,
        own_server_id: str,
        handles_registration: bool,
        serving: Callable[[], bool] = lambda: True,  # the manager: only while it is the active one
    ) -> None:
        self._bus = bus
        self._registry = registry
        self._catalog = catalog
        self._settings_store = settings_store
        self._clock = clock
        self._join_token = join_token
        self._auto_approve = auto_approve
        self._own_id = own_server_id
        self._serving = serving
        self.settings = SharedSettings()
        if handles_registration:  # the manager role; web servers use the rest of this class too
            bus.handle(RegisterServer, self._on_register)

    async def start(self) -> None:
        self.settings = await self._settings_store.load()

    async def current_settings(self) -> SharedSettings:
        """The stored settings (another web server may have changed them)."""
        self.settings = await self._settings_store.load()
        return self.settings

    async def _on_register(self, message: RegisterServer) -> Registration | None:
        if not self._serving():
            return None  # a standby manager: the active one answers
        if not hmac.compare_digest(message.join_token.encode(), self._join_token.encode()):
            logger.warning("server %s presented a wrong join token", message.server_id)
            return Registration(
                approved=False,
                name=message.name,
                region=message.region,
                max_participants=0,
                refusal="The join token is wrong.",
            )
        entry = await self._catalog.register(
            server_id=message.server_id,
            roles=message.roles,
            host=message.host,
            name=message.name or f"{message.host} ({'+'.join(message.roles)})",
            region=message.region,
            # The all-in-one server approves itself: there is nobody else to ask.
            approved=self._auto_approve or message.server_id == self._own_id,
            max_participants=500,
            now=self._clock(),
        )
        logger.info("server %s registered (%s)", entry.id, "approved" if entry.approved else "pending")
        return Registration(
            approved=entry.approved,
            name=entry.name,
            region=entry.region,
            max_participants=entry.max_participants,
            draining=entry.draining,
            settings=self.settings,
        )

    async def servers(self) -> list[ServerInfo]:
        live = {view.heartbeat.server_id: view for view in self._registry.servers()}
        result = []
        for entry in await self._catalog.all():
            view = live.get(entry.id)
            # Approved here but not yet there (its registration answer is still on its way): it takes nothing
            # yet, since placement goes by the state each server announces.
            if not entry.approved or (view is not None and view.status is ServerStatus.PENDING):
                status = ServerStatus.PENDING.value
            elif view is None or view.status is ServerStatus.DOWN:
                status = ServerStatus.DOWN.value
            else:
                status = ServerStatus.DRAINING.value if entry.draining else ServerStatus.UP.value
            result.append(ServerInfo(entry=entry, status=status, heartbeat=view.heartbeat if view else None))
        return result

    async def server(self, server_id: str) -> ServerInfo:
        for info in await self.servers():
            if info.entry.id == server_id:
                return info
        raise NotFound(f"There is no server {server_id}.")

    async def update(
        self,
        server_id: str,
        *,
        approved: bool | None = None,
        name: str | None = None,
        region: str | None = None,
        max_participants: int | None = None,
        draining: bool | None = None,
    ) -> ServerInfo:
        """Change what the admin decides about a server and tell it. The catalog is changed even if the server
        is down (it learns the change when it registers again)."""
        if name is not None:
            name = clean_name(name, what="A server name", max_length=128)
        if region is not None:
            region = clean_name(region, what="A region", max_length=64)
        if max_participants is not None and max_participants < 1:
            raise InvalidInput("The capacity must be at least 1 participant.")
        fields: dict[str, Any] = dict(
            approved=approved, name=name, region=region, max_participants=max_participants, draining=draining
        )
        if await self._catalog.update(server_id, **fields) is None:
            raise NotFound(f"There is no server {server_id}.")
        info = await self.server(server_id)
        if info.heartbeat is not None and info.status != ServerStatus.DOWN.value:
            e = info.entry
            command = UpdateServer(
                approved=e.approved,
                name=e.name,
                region=e.region,
                max_participants=e.max_participants,
                draining=e.draining,
            )
            # The server answers with its heartbeat in the new state: the answer shows it, whichever of that
            # reply and the heartbeat it also publishes the bus delivers first.
            self._registry.record(await self._command(server_id, command, "update"))
        return await self.server(server_id)

    async def _command(self, server_id: str, command: BusRequest[R], action: str) -> R:
        """Send a command to one server and wait for its acknowledgement."""
        try:
            return await self._bus.request_to(server_id, command, timeout_s=COMMAND_TIMEOUT_S)
        except BusError as e:
            raise Unavailable(f"Server {server_id} did not acknowledge “{action}”: {e}") from e

    async def lifecycle(self, server_id: str, action: str) -> CommandResult:
        """Restart or shut down one server ("restart" or "shutdown"), acknowledged by it."""
        command_type = _LIFECYCLE.get(action)
        if command_type is None:
            raise InvalidInput("The action must be restart or shutdown.")
        await self.server(server_id)
        reply = await self._command(server_id, command_type(), action)
        if not reply.ok:
            raise Unavailable(f"Server {server_id} refused “{action}”: {reply.message}")
        return reply

    async def remove(self, server_id: str) -> None:
        """Forget a server. A running server that registers again comes back as pending."""
        if not await self._catalog.remove(server_id):
            raise NotFound(f"There is no server {server_id}.")
        self._registry.forget(server_id)

    async def update_settings(self, changes: dict[str, Any]) -> SharedSettings:
        current = await self.current_settings()
        try:
            candidate = SharedSettings.model_validate({**current.model_dump(), **changes})
        except ValueError as e:
            raise InvalidInput(f"Invalid settings: {e}") from e
        self.settings = await self._settings_store.save(candidate, self._clock())
        await self._bus.publish(SettingsChanged(settings=self.settings))
        logger.info("shared settings revision %d published", self.settings.revision)
        return self.settings
