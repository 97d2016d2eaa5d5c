"""Live presence for the address book: offline, online (a recent request), in a conference (bus events).

In-memory, rebuilt from events: app servers publish ParticipantJoined / ParticipantLeft; conferences on a
server that stopped sending heartbeats no longer count. "Online" is seen by the web server that served the
request; it tells the others with PresenceSeen, at most once per user per ``share_every_s``, so every web server
of a cluster answers the same.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from veche.bus.base import Bus
from veche.bus.messages import BusMessage, ParticipantJoined, ParticipantLeft, PresenceSeen, ServerHeartbeat
from veche.domain.directory import Presence

__all__ = ["PresenceState", "PresenceTracker", "user_id_of"]

logger = logging.getLogger(__name__)

SERVER_SILENCE_S = 5.0  # heartbeats are every second; a server missing 5 s of them is gone
MAX_SHARE_EVERY_S = 30.0


@dataclass(frozen=True)
class PresenceState:
    presence: Presence
    conference_id: int | None = None


def user_id_of(identity: str) -> int | None:
    """The user id in a participant identity ("user:<id>"); None for guests."""
    kind, _, value = identity.partition(":")
    return int(value) if kind == "user" and value.isdigit() else None


class PresenceTracker:
    """Who is online or in a conference, as this process has seen and heard it."""

    def __init__(
        self,
        bus: Bus,
        *,
        online_ttl_s: float,
        now_s: Callable[[], float] = time.monotonic,
        share_every_s: float | None = None,
    ) -> None:
        self._bus = bus
        self._ttl = online_ttl_s
        self._now = now_s
        # Another server hears of a request at most this late: well inside the TTL, so nobody blinks offline.
        self._share_every = min(MAX_SHARE_EVERY_S, online_ttl_s / 3) if share_every_s is None else share_every_s
        self._seen: dict[int, float] = {}
        self._shared: dict[int, float] = {}  # user id -> when this cluster last heard PresenceSeen of him
        self._sending: set[asyncio.Task[None]] = set()
        # user id -> {(server id, conference id, participant id)}
        self._in_conference: dict[int, set[tuple[str, int, str]]] = {}
        self._heartbeats: dict[str, float] = {}
        bus.subscribe(ParticipantJoined, self._joined)
        bus.subscribe(ParticipantLeft, self._left)
        bus.subscribe(ServerHeartbeat, self._heartbeat)
        bus.subscribe(PresenceSeen, self._seen_elsewhere)

    def touch(self, user_id: int) -> None:
        """The user did something (a request): he is online for the next ``online_ttl_s``, on every server."""
        now = self._now()
        self._seen[user_id] = now
        shared = self._shared.get(user_id)
        if shared is None or now - shared >= self._share_every:
            self._shared[user_id] = now
            self._send(PresenceSeen(user_id=user_id))
        if len(self._seen) > 200_000:
            horizon = now - self._ttl
            self._seen = {u: t for u, t in self._seen.items() if t > horizon}
            self._shared = {u: t for u, t in self._shared.items() if t > horizon}

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
        user_id = user_id_of(message.identity)
        if user_id is not None:
            self._in_conference.setdefault(user_id, set()).add(
                (message.server_id, message.conference_id, message.participant_id)
            )

    async def _left(self, message: ParticipantLeft) -> None:
        user_id = user_id_of(message.identity)
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

    async def _seen_elsewhere(self, message: PresenceSeen) -> None:
        now = self._now()
        self._seen[message.user_id] = now
        # The cluster knows: this server need not repeat it for a while.
        self._shared[message.user_id] = now

    def _send(self, message: BusMessage) -> None:
        """Publish without making the request wait for the bus (touch runs inside every signed-in request)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop, so no bus to tell (a synchronous caller in a test)
        task = loop.create_task(self._bus.publish(message))
        self._sending.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("could not share presence on the bus", exc_info=task.exception())
