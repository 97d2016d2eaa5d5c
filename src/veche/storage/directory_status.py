"""What the console shows about each directory source, kept in the shared database.

The process that runs a full sync (a base server, or `veche directory sync`) claims the source, writes its
progress about once a second and its outcome at the end; the base role records whether it follows changes.
Any web server of a cluster reads it from here, whichever process does the work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.storage.directory_tables import DirectorySyncStatusRow as Row

__all__ = ["SyncStatus", "SyncStatusStore"]


def _utc(ts: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes; every time Veche writes is UTC.
    return ts.replace(tzinfo=UTC) if ts is not None and ts.tzinfo is None else ts


@dataclass(frozen=True)
class SyncStatus:
    source: str
    run_id: str | None  # set while a full sync runs (its process beats ``beat_at``)
    trigger: str  # console | command | automatic
    phase: str  # connecting | people | indexing | groups | finishing | complete | failed | interrupted ("" never ran)
    people_done: int
    groups_done: int
    expected_people: int
    started_at: datetime | None
    beat_at: datetime | None
    ended_at: datetime | None
    last_error: str | None
    error_at: datetime | None
    following_seen_at: datetime | None
    last_change_at: datetime | None


def _status(row: Row) -> SyncStatus:
    return SyncStatus(
        source=row.source,
        run_id=row.run_id,
        trigger=row.trigger,
        phase=row.phase,
        people_done=row.people_done,
        groups_done=row.groups_done,
        expected_people=row.expected_people,
        started_at=_utc(row.started_at),
        beat_at=_utc(row.beat_at),
        ended_at=_utc(row.ended_at),
        last_error=row.last_error,
        error_at=_utc(row.error_at),
        following_seen_at=_utc(row.following_seen_at),
        last_change_at=_utc(row.last_change_at),
    )


class SyncStatusStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, source: str) -> SyncStatus | None:
        async with self._sessions() as session:
            row = await session.get(Row, source)
            return _status(row) if row else None

    async def all(self) -> dict[str, SyncStatus]:
        async with self._sessions() as session:
            return {row.source: _status(row) for row in await session.scalars(select(Row))}

    async def claim(
        self, source: str, run_id: str, *, trigger: str, now: datetime, stale_before: datetime
    ) -> str | None:
        """Mark a full sync of ``source`` as running under ``run_id``, unless one already runs.

        A sync whose last beat is older than ``stale_before`` counts as gone (its process died). Returns None
        when claimed, otherwise the ``run_id`` of the sync that runs. Atomic on SQLite and PostgreSQL.
        """
        async with self._sessions.begin() as session:
            await self._ensure_row(session, source)
            result = await session.execute(
                update(Row)
                .where(
                    Row.source == source, or_(Row.run_id.is_(None), Row.beat_at.is_(None), Row.beat_at < stale_before)
                )
                .values(
                    run_id=run_id,
                    trigger=trigger,
                    phase="connecting",
                    people_done=0,
                    groups_done=0,
                    started_at=now,
                    beat_at=now,
                    ended_at=None,
                )
            )
            if int(getattr(result, "rowcount", 0) or 0) == 1:
                return None
            return await session.scalar(select(Row.run_id).where(Row.source == source))

    async def progress(
        self, source: str, run_id: str, *, phase: str, people: int, groups: int, expected: int, now: datetime
    ) -> None:
        """The running sync's figures (and its beat: it is alive)."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Row)
                .where(Row.source == source, Row.run_id == run_id)
                .values(phase=phase, people_done=people, groups_done=groups, expected_people=expected, beat_at=now)
            )

    async def finish(
        self,
        source: str,
        run_id: str,
        *,
        phase: str,
        error: str | None,
        now: datetime,
        people: int,
        groups: int,
        expected: int,
    ) -> None:
        """The sync ended: ``complete`` (clears the last error), ``failed`` or ``interrupted`` (records it)."""
        values: dict[str, Any] = {"run_id": None, "phase": phase, "ended_at": now, "beat_at": now}
        values.update(people_done=people, groups_done=groups, expected_people=expected)
        values.update(last_error=error, error_at=now if error else None)
        async with self._sessions.begin() as session:
            await session.execute(update(Row).where(Row.source == source, Row.run_id == run_id).values(**values))

    async def record_error(self, source: str, message: str, now: datetime) -> None:
        """A failure outside a full sync (the change watcher lost the server, say)."""
        async with self._sessions.begin() as session:
            await self._ensure_row(session, source)
            await session.execute(update(Row).where(Row.source == source).values(last_error=message, error_at=now))

    async def following(self, source: str, *, seen_at: datetime | None, last_change_at: datetime | None) -> None:
        """The base role follows the source's changes (``seen_at`` = now), or stopped (None)."""
        values: dict[str, Any] = {"following_seen_at": seen_at}
        if last_change_at is not None:
            values["last_change_at"] = last_change_at
        async with self._sessions.begin() as session:
            await self._ensure_row(session, source)
            await session.execute(update(Row).where(Row.source == source).values(**values))
            if seen_at is not None:
                # Connected again: an old connection error is over (a failed full sync's error stays shown).
                await session.execute(
                    update(Row)
                    .where(Row.source == source, Row.phase != "failed", Row.last_error.is_not(None))
                    .values(last_error=None, error_at=None)
                )

    @staticmethod
    async def _ensure_row(session: AsyncSession, source: str) -> None:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        await session.execute(
            dialect.insert(Row)
            .values(source=source, trigger="", phase="", people_done=0, groups_done=0, expected_people=0)
            .on_conflict_do_nothing()
        )
