"""The live view of the cluster: every server's latest heartbeat and whether it is alive.

The manager uses it for the console; web servers use it for placement. It only listens to heartbeats, so it
works the same in `veche up` (in-process bus) and in a cluster (NATS).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from veche.bus.base import Bus
from veche.bus.messages import ServerHeartbeat
from veche.domain.liveness import HEARTBEAT_INTERVAL_S, MISSED_HEARTBEATS_DOWN, is_alive
from veche.domain.server_snapshot import ServerSnapshot, ServerStatus

__all__ = ["ServerRegistry", "ServerView"]

# A server not heard of for this long is dropped from the live view (the manager's catalog keeps it).
FORGET_AFTER_S = 3600.0


@dataclass(frozen=True)
class ServerView:
    heartbeat: ServerHeartbeat
    status: ServerStatus
    last_seen_s: float


class ServerRegistry:
    def __init__(self, bus: Bus, clock_s: Callable[[], float] = time.time) -> None:
        self._servers: dict[str, tuple[ServerHeartbeat, float]] = {}
        self._clock_s = clock_s
        bus.subscribe(ServerHeartbeat, self._on_heartbeat)

    async def _on_heartbeat(self, heartbeat: ServerHeartbeat) -> None:
        self.record(heartbeat)

    def record(self, heartbeat: ServerHeartbeat) -> None:
        """Take a heartbeat heard some other way than published (the reply to a command)."""
        self._servers[heartbeat.server_id] = (heartbeat, self._clock_s())

    def _view(self, heartbeat: ServerHeartbeat, seen: float, now: float) -> ServerView:
        status = ServerStatus(heartbeat.state) if is_alive(seen, now) else ServerStatus.DOWN
        return ServerView(heartbeat=heartbeat, status=status, last_seen_s=seen)

    def servers(self) -> list[ServerView]:
        now = self._clock_s()
        for server_id, (_, seen) in list(self._servers.items()):
            if now - seen > FORGET_AFTER_S:
                del self._servers[server_id]
        return [self._view(hb, seen, now) for hb, seen in self._servers.values()]

    def get(self, server_id: str) -> ServerView | None:
        found = self._servers.get(server_id)
        return self._view(found[0], found[1], self._clock_s()) if found else None

    def forget(self, server_id: str) -> None:
        self._servers.pop(server_id, None)

    def hears_the_cluster(self) -> bool:
        """Whether any heartbeat arrived recently: if not, the bus itself is down and the view is stale."""
        now = self._clock_s()
        window = HEARTBEAT_INTERVAL_S * MISSED_HEARTBEATS_DOWN
        return any(now - seen < window for _, seen in self._servers.values())

    def app_snapshots(self) -> list[ServerSnapshot]:
        """The input of placement: every app server as last heard of."""
        return [
            ServerSnapshot(
                server_id=hb.server_id,
                region=hb.region,
                status=ServerStatus(hb.state),
                last_heartbeat_s=seen,
                cpu_use=hb.figures.cpu_use,
                cores=hb.figures.cores,
                bandwidth_in_bps=hb.figures.net_in_bps,
                bandwidth_out_bps=hb.figures.net_out_bps,
                bandwidth_capacity_bps=float(hb.bandwidth_capacity_bps or 1_000_000_000),
                participants=hb.participants,
                max_participants=hb.max_participants or 500,
                conferences=hb.conferences,
            )
            for hb, seen in self._servers.values()
            if "app" in hb.roles
        ]
