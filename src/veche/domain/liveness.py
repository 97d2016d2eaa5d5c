"""Whether a server is alive, from the time of its last heartbeat. Pure; time passed in."""

from __future__ import annotations

__all__ = ["HEARTBEAT_INTERVAL_S", "MISSED_HEARTBEATS_DOWN", "is_alive"]

HEARTBEAT_INTERVAL_S = 1.0
MISSED_HEARTBEATS_DOWN = 3


def is_alive(last_heartbeat_s: float, now_s: float) -> bool:
    """A server that missed 3 heartbeats (1 s apart) is down."""
    return now_s - last_heartbeat_s < HEARTBEAT_INTERVAL_S * MISSED_HEARTBEATS_DOWN
