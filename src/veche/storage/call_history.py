"""Persistence of the call history: sessions upserted by id and revision, grouped into calls, listed in pages.

Writing (the base role, :mod:`veche.base.call_log`): :meth:`CallHistoryStore.record` stores a batch in one
transaction: a session new to the store joins the calls of its conference it overlaps (or starts one), a known one
is updated only by a higher revision, so a batch sent again changes nothing. Reading (the web role): every filter
and the pagination are SQL; the CSV export walks the rows in keyset pages, never all at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.domain.call_history import (
    CLOSED_BY_APP,
    CLOSED_BY_RESTART,
    CallEntry,
    CallPage,
    CallParticipant,
    HistoryFilter,
    HourlyUsage,
    MediaCounters,
    SessionRecord,
    hourly_usage,
    user_id_of,
)
from veche.domain.call_usage import SessionSpan, call_usage_delta
from veche.storage.call_usage import add_call_usage
from veche.storage.history_tables import HistoryCallRow, HistorySessionRow

__all__ = ["CallHistoryStore", "to_ms"]

FOREVER_MS = 2**62
CSV_BATCH = 1000

C = HistoryCallRow
S = HistorySessionRow


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class CallHistoryStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        # Grouping sessions into calls reads then writes: one writer at a time in this process.
        self._write = asyncio.Lock()
        # The sessions the transaction under way changed, (before, after), for the Statistics roll-ups.
        self._changes: list[tuple[SessionSpan | None, SessionSpan | None]] = []

    # -- writing ----------------------------------------------------------------------------------------------

    async def record(
        self, server_id: str, incarnation: str, started_at_ms: int, records: Sequence[SessionRecord]
    ) -> None:
        """Store one app server's batch: its earlier incarnations' open sessions close at ``started_at_ms``, then
        each record is inserted or, with a higher revision than stored, updated."""
        async with self._write, self._sessions.begin() as db:
            self._changes = []
            touched = await self._close(
                db,
                (S.server_id == server_id, S.incarnation != incarnation),
                started_at_ms,
                CLOSED_BY_RESTART,
            )
            for record in records:
                touched.add(await self._upsert(db, record, incarnation))
            await _refresh_calls(db, touched)
            await add_call_usage(db, call_usage_delta(self._changes))

    async def close_open_sessions(self, server_id: str, at_ms: int, reason: str) -> int:
        """Close every open session through ``server_id`` at ``at_ms`` (its death became known); how many."""
        async with self._write, self._sessions.begin() as db:
            self._changes = []
            touched = await self._close(db, (S.server_id == server_id,), at_ms, reason)
            await _refresh_calls(db, touched)
            await add_call_usage(db, call_usage_delta(self._changes))
            return len(touched)

    async def delete_ended_before(self, cutoff_ms: int) -> int:
        """Retention: delete the calls that ended before ``cutoff_ms``, with their sessions; how many calls."""
        async with self._write, self._sessions.begin() as db:
            old = select(C.id).where(C.ended_at_ms.is_not(None), C.ended_at_ms < cutoff_ms)
            await db.execute(delete(S).where(S.call_id.in_(old)))
            deleted = await db.execute(delete(C).where(C.ended_at_ms.is_not(None), C.ended_at_ms < cutoff_ms))
            return int(getattr(deleted, "rowcount", 0) or 0)

    async def servers_with_open_sessions(self) -> list[str]:
        async with self._sessions() as db:
            found = await db.scalars(select(S.server_id).where(S.left_at_ms.is_(None)).distinct())
            return sorted(found)

    async def _close(self, db: AsyncSession, where: Iterable[ColumnElement[bool]], at_ms: int, reason: str) -> set[int]:
        conditions = [S.left_at_ms.is_(None), *where]
        closing = (await db.execute(select(S.call_id, S.server_id, S.joined_at_ms).where(*conditions))).all()
        calls = {call_id for call_id, _, _ in closing}
        self._changes.extend(
            (SessionSpan(server, joined, None), SessionSpan(server, joined, max(joined, at_ms)))
            for _, server, joined in closing
        )
        if calls:
            await db.execute(
                update(S)
                .where(*conditions)
                .values(
                    left_at_ms=case((S.joined_at_ms > at_ms, S.joined_at_ms), else_=at_ms),
                    closed_by=reason,  # the revision stays: what the app server sends next is newer than this
                )
            )
        return calls

    async def _upsert(self, db: AsyncSession, record: SessionRecord, incarnation: str) -> int:
        row = await db.scalar(select(S).where(S.session_id == record.session_id))
        if row is not None:
            if record.revision > row.revision:
                before = _span(row)
                _apply(row, record, incarnation)
                self._changes.append((before, _span(row)))
            return row.call_id
        call_id = await _call_for(db, record)
        row = S(session_id=record.session_id, call_id=call_id)
        _apply(row, record, incarnation)
        self._changes.append((None, _span(row)))
        db.add(row)
        await db.flush()
        return call_id

    # -- reading ----------------------------------------------------------------------------------------------

    async def list_calls(self, where: HistoryFilter, *, limit: int, offset: int) -> CallPage:
        """One page of the calls ``where`` allows, newest first, with their participants."""
        conditions = _conditions(where)
        async with self._sessions() as db:
            total = await db.scalar(select(func.count()).select_from(C).where(*conditions)) or 0
            rows = list(
                await db.scalars(
                    select(C)
                    .where(*conditions)
                    .order_by(C.started_at_ms.desc(), C.id.desc())
                    .limit(limit)
                    .offset(offset)
                )
            )
            participants = await _participants(db, [r.id for r in rows])
        return CallPage(total=total, calls=[_call_of(r, participants.get(r.id, ())) for r in rows])

    async def get_call(self, call_id: int, where: HistoryFilter) -> CallEntry | None:
        """One call, if ``where`` allows it (a user sees only the calls he took part in)."""
        async with self._sessions() as db:
            row = await db.scalar(select(C).where(C.id == call_id, *_conditions(where)))
            if row is None:
                return None
            participants = await _participants(db, [row.id])
        return _call_of(row, participants.get(row.id, ()))

    async def participant_rows(self, where: HistoryFilter) -> AsyncIterator[tuple[CallEntry, CallParticipant]]:
        """Every (call, participant) ``where`` allows, newest call first, read in keyset pages (for the CSV)."""
        conditions = _conditions(where)
        after: tuple[int, int] | None = None
        while True:
            query = select(C, S).join(S, S.call_id == C.id).where(*conditions)
            if after is not None:
                query = query.where(or_(C.id < after[0], (C.id == after[0]) & (S.id > after[1])))
            query = query.order_by(C.id.desc(), S.id).limit(CSV_BATCH)
            async with self._sessions() as db:
                batch = (await db.execute(query)).all()
            for call, session in batch:
                yield _call_of(call, ()), _participant_of(session)
            if len(batch) < CSV_BATCH:
                return
            after = (batch[-1][0].id, batch[-1][1].id)

    async def hourly_usage(
        self, start: datetime, end: datetime, *, now: datetime, server_id: str | None = None
    ) -> list[HourlyUsage]:
        """Participant-minutes and conference runs per hour between two instants (for the Statistics page),
        optionally only what went through one server. Open sessions and calls count until ``now``."""
        start_ms, end_ms, now_ms = to_ms(start), to_ms(end), to_ms(now)
        overlap_s = [S.joined_at_ms < end_ms, or_(S.left_at_ms.is_(None), S.left_at_ms >= start_ms)]
        overlap_c = [C.started_at_ms < end_ms, or_(C.ended_at_ms.is_(None), C.ended_at_ms >= start_ms)]
        if server_id is not None:
            overlap_s.append(S.server_id == server_id)
            overlap_c.append(C.id.in_(select(S.call_id).where(S.server_id == server_id)))
        async with self._sessions() as db:
            sessions = (await db.execute(select(S.joined_at_ms, S.left_at_ms).where(*overlap_s))).all()
            runs = (await db.execute(select(C.started_at_ms, C.ended_at_ms).where(*overlap_c))).all()
        return hourly_usage(
            [(begin, end) for begin, end in sessions], [(begin, end) for begin, end in runs], start_ms, end_ms, now_ms
        )


def _span(row: HistorySessionRow) -> SessionSpan:
    return SessionSpan(row.server_id, row.joined_at_ms, row.left_at_ms)


def _apply(row: HistorySessionRow, record: SessionRecord, incarnation: str) -> None:
    row.conference_id = record.conference_id
    row.identity = record.identity
    row.user_id = user_id_of(record.identity)
    row.display_name = record.display_name[:256]
    row.guest = record.guest
    row.kind = record.kind.value
    row.user_agent = record.user_agent[:256]
    row.server_id = record.server_id
    row.incarnation = incarnation
    row.joined_at_ms = record.joined_at_ms
    row.left_at_ms = record.left_at_ms
    row.closed_by = CLOSED_BY_APP if record.left_at_ms is not None else ""
    row.revision = record.revision
    media = record.media
    row.bytes_in, row.bytes_out = media.bytes_in, media.bytes_out
    row.packets_in, row.packets_out = media.packets_in, media.packets_out
    row.lost_in, row.lost_out = media.lost_in, media.lost_out


async def _call_for(db: AsyncSession, record: SessionRecord) -> int:
    """The call a new session belongs to: the one of its conference it overlaps; several are joined into the
    oldest; none starts a new call."""
    end = record.left_at_ms if record.left_at_ms is not None else FOREVER_MS
    overlapping = list(
        await db.scalars(
            select(C.id)
            .where(
                C.conference_id == record.conference_id,
                C.started_at_ms <= end,
                or_(C.ended_at_ms.is_(None), C.ended_at_ms >= record.joined_at_ms),
            )
            .order_by(C.id)
        )
    )
    if not overlapping:
        call = C(
            conference_id=record.conference_id,
            conference_name=record.conference_name[:256],
            started_at_ms=record.joined_at_ms,
            ended_at_ms=record.left_at_ms,
            participants=0,
        )
        db.add(call)
        await db.flush()
        return call.id
    keep, absorbed = overlapping[0], overlapping[1:]
    if absorbed:
        await db.execute(update(S).where(S.call_id.in_(absorbed)).values(call_id=keep))
        await db.execute(delete(C).where(C.id.in_(absorbed)))
    if record.conference_name:
        await db.execute(update(C).where(C.id == keep).values(conference_name=record.conference_name[:256]))
    return keep


async def _refresh_calls(db: AsyncSession, call_ids: Iterable[int]) -> None:
    """A call runs from its first join to its last leave, and is open while any of its sessions is."""
    await db.flush()
    for call_id in sorted(set(call_ids)):
        first, last, count, closed = (
            await db.execute(
                select(func.min(S.joined_at_ms), func.max(S.left_at_ms), func.count(), func.count(S.left_at_ms)).where(
                    S.call_id == call_id
                )
            )
        ).one()
        if not count:
            continue  # absorbed into another call meanwhile
        await db.execute(
            update(C)
            .where(C.id == call_id)
            .values(started_at_ms=first, ended_at_ms=last if closed == count else None, participants=count)
        )


def _conditions(where: HistoryFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []

    def with_session(*matching: ColumnElement[bool]) -> None:
        conditions.append(C.id.in_(select(S.call_id).where(*matching)))

    if where.participant_user_id is not None:
        with_session(S.user_id == where.participant_user_id)
    if where.user_id is not None:
        with_session(S.user_id == where.user_id)
    if where.server_id is not None:
        with_session(S.server_id == where.server_id)
    if where.kind is not None:
        with_session(S.kind == where.kind.value)
    if where.conference_id is not None:
        conditions.append(C.conference_id == where.conference_id)
    if where.since is not None:
        conditions.append(or_(C.ended_at_ms.is_(None), C.ended_at_ms >= to_ms(where.since)))
    if where.until is not None:
        conditions.append(C.started_at_ms < to_ms(where.until))
    return conditions


async def _participants(db: AsyncSession, call_ids: list[int]) -> dict[int, tuple[CallParticipant, ...]]:
    if not call_ids:
        return {}
    found: dict[int, list[CallParticipant]] = {}
    rows = await db.scalars(select(S).where(S.call_id.in_(call_ids)).order_by(S.call_id, S.joined_at_ms, S.id))
    for row in rows:
        found.setdefault(row.call_id, []).append(_participant_of(row))
    return {call: tuple(people) for call, people in found.items()}


def _participant_of(row: HistorySessionRow) -> CallParticipant:
    return CallParticipant(
        session_id=row.session_id,
        identity=row.identity,
        user_id=row.user_id,
        display_name=row.display_name,
        guest=row.guest,
        kind=row.kind,
        user_agent=row.user_agent,
        server_id=row.server_id,
        joined_at_ms=row.joined_at_ms,
        left_at_ms=row.left_at_ms,
        closed_by=row.closed_by,
        media=MediaCounters(
            bytes_in=row.bytes_in,
            bytes_out=row.bytes_out,
            packets_in=row.packets_in,
            packets_out=row.packets_out,
            lost_in=row.lost_in,
            lost_out=row.lost_out,
        ),
    )


def _call_of(row: HistoryCallRow, participants: Iterable[CallParticipant]) -> CallEntry:
    return CallEntry(
        id=row.id,
        conference_id=row.conference_id,
        conference_name=row.conference_name,
        started_at_ms=row.started_at_ms,
        ended_at_ms=row.ended_at_ms,
        participants=tuple(participants),
    )
