"""Live presence for the address book: offline, online (a recent request), in a conference (bus events).

In-memory, rebuilt from events: app servers publish ParticipantJoined / ParticipantLeft; conferences on a
server that stopped sending heartbeats no longer count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from veche.bus.base import Bus
from veche.bus.messages import ParticipantJoined, ParticipantLeft, ServerHeartbeat
from veche.domain.directory import Presence

__all__ = ["PresenceState", "PresenceTracker"]

SERVER_SILENCE_S = 5.0  # heartbeats are every second; a server missing 5 s of them is gone


@dataclass(frozen=True)
class PresenceState:
    presence: Presence
    conference_id: int | None = None


def _user_id(identity: str) -> int | None:
    kind, _, value = identity.partition(":")
    return int(value) if kind == "user" and value.isdigit() else None


class PresenceTracker:
    def __init__(self, bus: Bus, *, online_ttl_s: float, now_s: Callable[[], float] = time.monotonic) -> None:
        self._ttl = online_ttl_s
        self._now = now_s
        self._seen: dict[int, float] = {}
        # user id -> {(server id, conference id, participant id)}
        self._in_conference: dict[int, set[tuple[str, int, str]]] = {}
        self._heartbeats: dict[str, float] = {}
        bus.subscribe(ParticipantJoined, self._joined)
        bus.subscribe(ParticipantLeft, self._left)
        bus.subscribe(ServerHeartbeat, self._heartbeat)

    def touch(self, user_id: int) -> None:
        """The user did something (a request): he is online for the next ``online_ttl_s``."""
        self._seen[user_id] = self._now()
        if len(self._seen) > 200_000:
            horizon = self._now() - self._ttl
            self._seen = {u: t for u, t in self._seen.items() if t > horizon}

    def state(self, user_id: int) -> PresenceState:
        now = self._now()
        for server_id, conference_id, _ in sorted(self._in_conference.get(user_id, ())):
            beat = self._heartbeats.get(server_id)
            if beat is None or now - beat <= SERVER_SILENCE_S:
                return PresenceState(Presence.IN_CONFERENCE, conference_id)
        seen = self._seen.get(user_id)
        if seen is not None and now - seen <= self._ttl:
            return PresenceState(Presence.ONLINE)
        return PresenceState(Presence.OFFLINE)

    async def _joined(self, message: ParticipantJoined) -> None:
        user_id = _user_id(message.identity)
        if user_id is not None:
            self._in_conference.setdefault(user_id, set()).add(
                (message.server_id, message.conference_id, message.participant_id)
            )

    async def _left(self, message: ParticipantLeft) -> None:
        user_id = _user_id(message.identity)
        if user_id is None:
            return
        entries = self._in_conference.get(user_id)
        if entries is not None:
            entries.discard((message.server_id, message.conference_id, message.participant_id))
            if not entries:
                del self._in_conference[user_id]
        self._seen[user_id] = self._now()  # just left a call: still online

    async def _heartbeat(self, message: ServerHeartbeat) -> None:
        self._heartbeats[message.server_id] = self._now()
