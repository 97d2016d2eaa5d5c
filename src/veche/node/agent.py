"""The server agent: registers this server with the manager, sends heartbeats, obeys the manager's commands,
and keeps the shared settings current. Every process runs one, whatever its roles."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from veche import __version__
from veche.bus.base import Bus, BusError
from veche.bus.messages import (
    CommandResult,
    EngineStatus,
    Ping,
    RegisterServer,
    RestartServer,
    ServerHeartbeat,
    SettingsChanged,
    ShutdownServer,
    UpdateServer,
)
from veche.domain.liveness import HEARTBEAT_INTERVAL_S
from veche.domain.shared_settings import SharedSettings
from veche.node.metrics import FigureSampler

__all__ = ["NodeState", "ServerAgent", "load_server_id"]

logger = logging.getLogger(__name__)

REGISTER_RETRY_S = 2.0
LifecycleHook = Callable[[str], None]  # called with "restart" or "shutdown"


def load_server_id(data_dir: Path) -> str:
    """A stable id per data directory, so a restarted server is the same server."""
    path = data_dir / "server_id"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    server_id = f"{socket.gethostname().split('.')[0][:20]}-{os.urandom(4).hex()}".replace(".", "-")
    path.write_text(server_id + "\n")
    return server_id


@dataclass
class NodeState:
    """What the manager decided about this server; kept on disk so it survives the manager being away."""

    approved: bool = False
    draining: bool = False
    name: str = ""
    region: str = "default"
    max_participants: int = 500

    @property
    def status(self) -> str:
        if not self.approved:
            return "pending"
        return "draining" if self.draining else "up"


class ServerAgent:
    def __init__(
        self,
        bus: Bus,
        *,
        server_id: str,
        roles: list[str],
        data_dir: Path,
        join_token: str,
        defaults: NodeState,
        signaling_url: str = "",
        bandwidth_capacity_bps: int = 1_000_000_000,
    ) -> None:
        self._bus = bus
        self.server_id = server_id
        self._roles = roles
        self._state_file = data_dir / "node_state.json"
        self._join_token = join_token
        self._signaling_url = signaling_url
        self._bandwidth = bandwidth_capacity_bps
        self.state = self._load_state(defaults)
        self.settings = SharedSettings()
        self.registered = asyncio.Event()
        self._sampler = FigureSampler()
        self._tasks: list[asyncio.Task[None]] = []
        self._settings_listeners: list[Callable[[SharedSettings], None]] = []
        self.lifecycle: LifecycleHook = lambda action: None
        self.app_figures: Callable[[], tuple[int, int]] | None = None  # (conferences, participants)
        self.engine_status: Callable[[], Awaitable[EngineStatus]] | None = None
        bus.subscribe(SettingsChanged, self._on_settings)
        bus.handle(UpdateServer, self._on_update)
        bus.handle(RestartServer, self._on_restart)
        bus.handle(ShutdownServer, self._on_shutdown)
        bus.handle(Ping, self._on_ping)

    def on_settings(self, listener: Callable[[SharedSettings], None]) -> None:
        self._settings_listeners.append(listener)

    async def start(self, *, manager_here: bool = False) -> None:
        """Register and start heartbeats. With the manager in this process, registration is done before return,
        so the first heartbeat already carries the approved state."""
        registration = asyncio.create_task(self._register_loop())
        if manager_here:
            await asyncio.wait_for(asyncio.shield(registration), timeout=10)
        self._tasks = [registration, asyncio.create_task(self._heartbeat_loop())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- registration and settings ----------------------------------------------------------------------------

    async def _register_loop(self) -> None:
        message = RegisterServer(
            server_id=self.server_id,
            roles=self._roles,
            host=socket.gethostname(),
            name=self.state.name,
            region=self.state.region,
            join_token=self._join_token,
            software_version=__version__,
        )
        while True:
            try:
                reply = await self._bus.request(message, timeout_s=2.0)
            except BusError as e:
                logger.info("manager not reachable yet (%s); retrying in %.0f s", e, REGISTER_RETRY_S)
                await asyncio.sleep(REGISTER_RETRY_S)
                continue
            if reply.refusal:
                logger.error("the manager refused this server: %s", reply.refusal)
                await asyncio.sleep(REGISTER_RETRY_S * 5)
                continue
            self._apply(
                approved=reply.approved,
                draining=reply.draining,
                name=reply.name,
                region=reply.region,
                max_participants=reply.max_participants,
            )
            self._set_settings(reply.settings)
            logger.info("registered with the manager as %s (%s)", self.server_id, self.state.status)
            self.registered.set()
            return

    async def _on_settings(self, message: SettingsChanged) -> None:
        self._set_settings(message.settings)

    def _set_settings(self, settings: SharedSettings) -> None:
        if settings.revision < self.settings.revision:
            return  # an older message arriving late
        self.settings = settings
        for listener in self._settings_listeners:
            listener(settings)

    # -- commands ---------------------------------------------------------------------------------------------

    async def _on_ping(self, _message: Ping) -> CommandResult:
        return CommandResult(ok=True, message=self.server_id)

    async def _on_update(self, command: UpdateServer) -> ServerHeartbeat:
        self._apply(
            approved=command.approved,
            draining=command.draining,
            name=command.name,
            region=command.region,
            max_participants=command.max_participants,
        )
        # The new state goes back in the reply (the manager's console) and at once to everyone else
        # (placement on every web server), rather than with the next heartbeat.
        heartbeat = await self.heartbeat()
        await self._bus.publish(heartbeat)
        return heartbeat

    async def _on_restart(self, _command: RestartServer) -> CommandResult:
        return self._obey("restart")

    async def _on_shutdown(self, _command: ShutdownServer) -> CommandResult:
        return self._obey("shutdown")

    def _obey(self, action: str) -> CommandResult:
        logger.warning("the manager asked this server to %s", action)
        # A moment later, so the acknowledgement leaves before the process goes.
        asyncio.get_running_loop().call_later(0.2, self.lifecycle, action)
        return CommandResult(ok=True, message=f"{self.server_id} will {action}")

    def _apply(self, **fields: object) -> None:
        for key, value in fields.items():
            if value is not None and (key != "name" or value):
                setattr(self.state, key, value)
        try:
            self._state_file.write_text(json.dumps(asdict(self.state)))
        except OSError as e:
            logger.warning("cannot keep the server state in %s: %s", self._state_file, e)

    def _load_state(self, defaults: NodeState) -> NodeState:
        try:
            stored = json.loads(self._state_file.read_text())
            return NodeState(**{**asdict(defaults), **stored, "region": defaults.region or stored.get("region")})
        except (OSError, ValueError, TypeError):
            return defaults

    # -- heartbeats -------------------------------------------------------------------------------------------

    async def heartbeat(self) -> ServerHeartbeat:
        conferences, participants = self.app_figures() if self.app_figures else (0, 0)
        engine = await self.engine_status() if self.engine_status else None
        return ServerHeartbeat(
            server_id=self.server_id,
            roles=self._roles,
            software_version=__version__,
            host=socket.gethostname(),
            pid=os.getpid(),
            sent_at=time.time(),
            name=self.state.name,
            region=self.state.region,
            state=self.state.status,
            signaling_url=self._signaling_url,
            max_participants=self.state.max_participants,
            bandwidth_capacity_bps=self._bandwidth,
            settings_revision=self.settings.revision,
            figures=self._sampler.sample(),
            media_engine=engine,
            conferences=conferences,
            participants=participants,
        )

    async def _heartbeat_loop(self) -> None:
        while True:
            try:
                await self._bus.publish(await self.heartbeat())
            except Exception:
                logger.exception("heartbeat failed")
            await asyncio.sleep(HEARTBEAT_INTERVAL_S)
