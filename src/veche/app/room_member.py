"""How a participant of any kind attaches to a room: it receives typed room events and can be told to go.

The WebSocket endpoint (:mod:`veche.app.ws_member`) is one implementation; gateways and the cascade link are others;
tests use a list of events.
"""

from __future__ import annotations

import abc

from veche.domain.room_events import RoomEvent

__all__ = ["RoomMember"]


class RoomMember(abc.ABC):
    @abc.abstractmethod
    def deliver(self, event: RoomEvent) -> None:
        """Hand one event to the participant; never blocks (a slow one is dropped by its own edge)."""

    @abc.abstractmethod
    def disconnect(self, code: str) -> None:
        """End the participant's connection after what was delivered (``code``: why, as in SessionEnded)."""
