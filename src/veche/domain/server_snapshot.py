"""What the cluster knows about one app server at one moment: the input of placement. Pure data."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from veche.domain.liveness import is_alive

__all__ = ["ServerSnapshot", "ServerStatus"]


class ServerStatus(enum.StrEnum):
    PENDING = "pending"  # registered, not yet approved by an admin
    UP = "up"
    DRAINING = "draining"  # keeps its running conferences, takes no new ones
    DOWN = "down"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSnapshot:
    """One app server's registry entry and latest heartbeat figures.

    ``cpu_use`` is the share of all ``cores`` in use (0..1). Bandwidths are bit/s;
    ``bandwidth_capacity_bps`` is the link's rate in each direction. ``last_heartbeat_s`` is on the clock
    the placement request's ``now_s`` uses.
    """

    server_id: str
    region: str
    status: ServerStatus
    last_heartbeat_s: float
    cpu_use: float
    cores: int
    bandwidth_in_bps: float
    bandwidth_out_bps: float
    bandwidth_capacity_bps: float
    participants: int
    max_participants: int
    conferences: int

    def status_at(self, now_s: float) -> ServerStatus:
        """The registry status, except that a server whose heartbeats stopped is down whatever it last said."""
        if self.status in (ServerStatus.UP, ServerStatus.DRAINING) and not is_alive(self.last_heartbeat_s, now_s):
            return ServerStatus.DOWN
        return self.status
