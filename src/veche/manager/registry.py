"""The manager's server registry: every server's latest heartbeat and whether it is alive."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from veche.bus.base import Bus
from veche.bus.messages import ServerHeartbeat
from veche.domain.liveness import is_alive

__all__ = ["ServerRegistry", "ServerView"]


@dataclass(frozen=True)
class ServerView:
    heartbeat: ServerHeartbeat
    status: str  # "up" | "down"


class ServerRegistry:
    def __init__(self, bus: Bus, clock_s: Callable[[], float] = time.time) -> None:
        self._servers: dict[str, tuple[ServerHeartbeat, float]] = {}
        self._clock_s = clock_s
        bus.subscribe(ServerHeartbeat, self._on_heartbeat)

    async def _on_heartbeat(self, heartbeat: ServerHeartbeat) -> None:
        self._servers[heartbeat.server_id] = (heartbeat, self._clock_s())

    def servers(self) -> list[ServerView]:
        now = self._clock_s()
        return [
            ServerView(heartbeat=hb, status="up" if is_alive(seen, now) else "down")
            for hb, seen in self._servers.values()
        ]
