"""The app server's half of the call history: every participant session here, sent to base until acknowledged.

Each join starts a :class:`~veche.domain.call_history.SessionRecord`; its leave closes it with the media engine's
counters for the participant's feeds and subscriptions, read every few seconds (new figures are a change too) and
once more as someone in his room leaves by his socket (the leaver's feeds take the others' subscriptions along).
Every change is kept as the session's newest revision and sent to the base role (``RecordCallSessions``, in
batches); a batch that base does not acknowledge — it is restarting, the bus is away — is sent again, every
second, until it is. Base keeps the highest revision of each session, so a resend counts nothing twice.

What is not acknowledged lives in this process's memory: an app server that dies loses it, and base closes the
sessions it left open when it learns of the death (docs/call-history.md).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from veche.app.conference_room import ConferenceRoom
from veche.app.media_engine import MediaEngine, MediaEngineError
from veche.bus.base import Bus, BusError
from veche.bus.messages import CallSessionRecord, RecordCallSessions
from veche.domain.call_history import MediaCounters, SessionRecord, client_kind
from veche.domain.room import RoomParticipant

__all__ = ["CallLogSender", "to_wire"]

logger = logging.getLogger(__name__)

BATCH = 200  # sessions per request
FLUSH_ON_STOP_S = 2.0  # how long a stopping server tries to hand its last sessions over
LEAVING_READ_S = 2.0  # how long a leave may wait for the media counters read as it happens
# A running session's new media figures go to base the first time and then at most this often (its leave carries
# the latest): base writes far fewer rows than there are readings.
MEDIA_SEND_MS = 60_000


def _wall_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _OpenSession:
    record: SessionRecord
    room: ConferenceRoom
    participant_id: str
    # The engine's latest cumulative counters per handle ("feed"/"sub", id): a handle that went (unpublished,
    # or gone with an engine restart) keeps what it last reported.
    handles: dict[tuple[str, int], MediaCounters] = field(default_factory=dict)
    media_sent_at_ms: int | None = None  # when figures of this session were last queued for base

    def remember(self, handle: tuple[str, int], counters: MediaCounters | None) -> None:
        """Keep the highest reading of each counter: a handle whose peer hung up reads zero again."""
        if counters is None:
            return
        seen = self.handles.get(handle)
        self.handles[handle] = counters if seen is None else _highest(seen, counters)

    def media(self) -> MediaCounters:
        total = MediaCounters()
        for counters in self.handles.values():
            total = total + counters
        return total


def _highest(a: MediaCounters, b: MediaCounters) -> MediaCounters:
    return MediaCounters(
        max(a.bytes_in, b.bytes_in),
        max(a.bytes_out, b.bytes_out),
        max(a.packets_in, b.packets_in),
        max(a.packets_out, b.packets_out),
        max(a.lost_in, b.lost_in),
        max(a.lost_out, b.lost_out),
    )


class CallLogSender:
    """Records this server's participant sessions and delivers them to the base role (module docstring)."""

    def __init__(
        self,
        bus: Bus,
        engine: MediaEngine,
        *,
        server_id: str,
        clock_ms: Callable[[], int] = _wall_ms,
        retry_s: float = 1.0,
        sample_s: float = 5.0,
    ) -> None:
        self._bus = bus
        self._engine = engine
        self._server_id = server_id
        self._clock_ms = clock_ms
        self._retry_s = retry_s
        self._sample_s = sample_s
        self.incarnation = secrets.token_hex(8)
        self._started_at_ms = clock_ms()
        self._open: dict[str, _OpenSession] = {}
        self._pending: dict[str, SessionRecord] = {}  # session id -> its newest revision, not yet acknowledged
        self._announced = False  # base knows this incarnation (it closes what an earlier one left open)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False
        self.sent_batches = 0  # for tests and logs: requests base acknowledged

    @property
    def pending(self) -> int:
        """Sessions whose newest revision base has not acknowledged yet."""
        return len(self._pending)

    async def start(self) -> None:
        self._running = True
        self._tasks = [asyncio.create_task(self._deliver()), asyncio.create_task(self._sample_periodically())]

    async def stop(self) -> None:
        """Close what is still open (the server stops) and try, briefly, to hand everything to base."""
        self._running = False
        for task in self._tasks:
            task.cancel()
        for session_id in list(self._open):
            self._close(session_id)
        deadline = time.monotonic() + FLUSH_ON_STOP_S
        while (self._pending or not self._announced) and time.monotonic() < deadline:
            if not await self._flush_once(timeout_s=max(0.1, deadline - time.monotonic())):
                break
        if self._pending:
            logger.warning("stopping with %d call history session(s) base did not acknowledge", len(self._pending))

    # -- what the room tells ----------------------------------------------------------------------------------

    def joined(self, room: ConferenceRoom, participant: RoomParticipant, *, user_agent: str = "") -> None:
        session_id = self._key(participant.id)
        record = SessionRecord(
            session_id=session_id,
            conference_id=room.conference_id,
            conference_name=room.name,
            identity=participant.identity,
            display_name=participant.display_name,
            guest=participant.guest,
            kind=client_kind(participant.kind.value, user_agent),
            user_agent=user_agent[:256],
            server_id=self._server_id,
            joined_at_ms=self._clock_ms(),
            left_at_ms=None,
            revision=1,
        )
        self._open[session_id] = _OpenSession(record, room, participant.id)
        self._queue(record)

    async def leaving(self, room: ConferenceRoom, participant_id: str) -> None:
        """A participant is about to leave with his media still in the engine: read his counters one last time, and
        those of the others' subscriptions to his feeds, which go with him. Bounded: a leave never waits long."""
        try:
            async with asyncio.timeout(LEAVING_READ_S):
                session = self._open.get(self._key(participant_id))
                if session is not None:
                    await self._sample(session)
                for subscriber, sub in room.subscriptions_to(participant_id):
                    viewer = self._open.get(self._key(subscriber))
                    if viewer is not None:
                        await self._read(viewer, [], [sub])
        except TimeoutError:
            logger.debug("call history: media counters of %s's room not all read in time", participant_id)

    def left(self, room: ConferenceRoom, participant: RoomParticipant) -> None:
        self._close(self._key(participant.id))

    def _key(self, participant_id: str) -> str:
        """A session's id: participant ids are random per join, so with the server's id unique in the cluster."""
        return f"{self._server_id}:{participant_id}"

    # -- internals --------------------------------------------------------------------------------------------

    def _close(self, session_id: str) -> None:
        session = self._open.pop(session_id, None)
        if session is not None:
            self._queue(session.record.closed(self._clock_ms(), session.media()))

    def _queue(self, record: SessionRecord) -> None:
        self._pending[record.session_id] = record
        self._wake.set()

    async def _sample(self, session: _OpenSession) -> None:
        """Read the engine's counters of the participant's handles; new figures are sent to base too, the first
        ones at once and then once a minute (so a session that its server's death cuts off keeps them)."""
        feeds, subscriptions = session.room.media_handles(session.participant_id)
        await self._read(session, feeds, subscriptions)

    async def _read(self, session: _OpenSession, feeds: list[int], subscriptions: list[int]) -> None:
        room = session.room.conference_id
        try:
            for feed in feeds:
                session.remember(("feed", feed), await self._engine.feed_counters(room, feed))
            for sub in subscriptions:
                session.remember(("sub", sub), await self._engine.subscription_counters(room, sub))
        except MediaEngineError as e:  # the engine is restarting: the last figures stand
            logger.debug("could not read media counters of %s: %s", session.record.session_id, e)
        media = session.media()
        if media != session.record.media and self._open.get(session.record.session_id) is session:
            session.record = session.record.with_media(media)
            now = self._clock_ms()
            if session.media_sent_at_ms is None or now - session.media_sent_at_ms >= MEDIA_SEND_MS:
                session.media_sent_at_ms = now
                self._queue(session.record)

    async def _sample_periodically(self) -> None:
        while self._running:
            await asyncio.sleep(self._sample_s)
            for session in list(self._open.values()):
                await self._sample(session)

    async def _deliver(self) -> None:
        while self._running:
            if self._pending or not self._announced:
                if not await self._flush_once(timeout_s=2.0):
                    await asyncio.sleep(self._retry_s)  # base is away: ask again in a moment
                    continue
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()

    async def _flush_once(self, *, timeout_s: float) -> bool:
        """Send one batch; True when base acknowledged it (what changed meanwhile stays pending)."""
        batch = list(self._pending.values())[:BATCH]
        request = RecordCallSessions(
            server_id=self._server_id,
            incarnation=self.incarnation,
            started_at_ms=self._started_at_ms,
            sessions=[to_wire(r) for r in batch],
        )
        try:
            reply = await self._bus.request(request, timeout_s=timeout_s)
        except BusError as e:
            logger.debug("call history: base did not take %d session(s): %s", len(batch), e)
            return False
        if not reply.ok:
            logger.info("call history: base refused %d session(s): %s", len(batch), reply.message)
            return False
        self._announced = True
        self.sent_batches += 1
        for record in batch:
            if self._pending.get(record.session_id) is record:
                del self._pending[record.session_id]
        return True


def to_wire(record: SessionRecord) -> CallSessionRecord:
    media = record.media
    return CallSessionRecord(
        session_id=record.session_id,
        conference_id=record.conference_id,
        conference_name=record.conference_name,
        identity=record.identity,
        display_name=record.display_name,
        guest=record.guest,
        kind=record.kind.value,
        user_agent=record.user_agent,
        server_id=record.server_id,
        joined_at_ms=record.joined_at_ms,
        left_at_ms=record.left_at_ms,
        revision=record.revision,
        bytes_in=media.bytes_in,
        bytes_out=media.bytes_out,
        packets_in=media.packets_in,
        packets_out=media.packets_out,
        lost_in=media.lost_in,
        lost_out=media.lost_out,
    )
