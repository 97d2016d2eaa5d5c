"""Persistence of usage statistics: a sample is stored once, and its roll-ups are added in the same transaction.

The sample's key (scope, start) is what makes the roll-ups exact: a batch inserts its samples with ON CONFLICT DO
NOTHING and adds to the hourly and daily sums only those that were new. A manager killed mid-batch leaves either all of
a batch or none; a batch written again after a restart adds nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.domain.usage_stats import Granularity, Rollup, ScopeSample, roll_up
from veche.storage.call_usage import CALL_TABLES
from veche.storage.usage_tables import UsageDailyRow, UsageHourlyRow, UsageSampleRow

__all__ = ["UsageStatsStore"]

SUMS = (
    "samples",
    "seconds",
    "cpu_seconds",
    "conference_seconds",
    "participant_seconds",
    "bytes_in",
    "bytes_out",
    "refusals",
    "failovers",
)
_TABLES: dict[Granularity, type[UsageHourlyRow] | type[UsageDailyRow]] = {
    Granularity.HOUR: UsageHourlyRow,
    Granularity.DAY: UsageDailyRow,
}


class UsageStatsStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, samples: Sequence[ScopeSample]) -> int:
        """Store the samples not stored yet and add them to their hours and days; returns how many were new."""
        if not samples:
            return 0
        async with self._sessions.begin() as session:
            postgres = session.get_bind().dialect.name == "postgresql"
            dialect: Any = postgresql if postgres else sqlite
            by_key = {(s.scope, s.at_s): s for s in samples}
            # executemany: one compiled statement, the rows sent in batches (SQLAlchemy's "insertmanyvalues").
            inserted = await session.execute(
                dialect.insert(UsageSampleRow)
                .on_conflict_do_nothing()
                .returning(UsageSampleRow.scope, UsageSampleRow.at),
                [_sample_row(s) for s in by_key.values()],
            )
            new = [by_key[(scope, at)] for scope, at in inserted]
            greatest = func.greatest if postgres else func.max
            for by, table in _TABLES.items():
                buckets = [_rollup_row(b) for b in roll_up(new, by)]
                if not buckets:
                    continue
                stmt = dialect.insert(table)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[table.scope, table.at],
                    set_={
                        **{name: getattr(table, name) + getattr(stmt.excluded, name) for name in SUMS},
                        "peak_participants": greatest(table.peak_participants, stmt.excluded.peak_participants),
                    },
                )
                await session.execute(stmt, buckets)
            return len(new)

    async def rollups(self, scope: str, by: Granularity, from_s: int, to_s: int) -> list[Rollup]:
        """The stored buckets of one scope with ``from_s <= start < to_s``, oldest first (missing ones are gaps)."""
        table = _TABLES[by]
        async with self._sessions() as session:
            found = await session.scalars(
                select(table).where(table.scope == scope, table.at >= from_s, table.at < to_s).order_by(table.at)
            )
            return [_rollup_of(cast(UsageHourlyRow | UsageDailyRow, row)) for row in found]

    async def call_rollups(self, scope: str, by: Granularity, from_s: int, to_s: int) -> dict[int, tuple[int, int]]:
        """The call history's buckets of one scope with ``from_s <= start < to_s``: start → (participant ms,
        sessions). A bucket without a row had no session."""
        table = CALL_TABLES[by]
        async with self._sessions() as session:
            found = await session.execute(
                select(table.at, table.participant_ms, table.sessions).where(
                    table.scope == scope, table.at >= from_s, table.at < to_s
                )
            )
            return {at: (participant_ms, sessions) for at, participant_ms, sessions in found}

    async def prune(self, *, samples_before_s: int, hours_before_s: int) -> None:
        """Retention: raw samples and hourly roll-ups older than the given times go; daily ones stay."""
        async with self._sessions.begin() as session:
            await session.execute(delete(UsageSampleRow).where(UsageSampleRow.at < samples_before_s))
            await session.execute(delete(UsageHourlyRow).where(UsageHourlyRow.at < hours_before_s))
            hourly_calls = CALL_TABLES[Granularity.HOUR]
            await session.execute(delete(hourly_calls).where(hourly_calls.at < hours_before_s))


def _sample_row(s: ScopeSample) -> dict[str, Any]:
    return {
        "scope": s.scope,
        "at": s.at_s,
        "seconds": s.seconds,
        "servers": s.servers,
        "cpu_use": s.cpu_use,
        "conferences": s.conferences,
        "participants": s.participants,
        "peak_participants": s.peak_participants,
        "net_in_bps": s.net_in_bps,
        "net_out_bps": s.net_out_bps,
        "refusals": s.refusals,
        "failovers": s.failovers,
    }


def _rollup_row(b: Rollup) -> dict[str, Any]:
    return {"scope": b.scope, "at": b.at_s, "peak_participants": b.peak_participants} | {
        name: getattr(b, name) for name in SUMS
    }


def _rollup_of(row: UsageHourlyRow | UsageDailyRow) -> Rollup:
    return Rollup(
        scope=row.scope,
        at_s=row.at,
        samples=row.samples,
        seconds=row.seconds,
        cpu_seconds=row.cpu_seconds,
        conference_seconds=row.conference_seconds,
        participant_seconds=row.participant_seconds,
        peak_participants=row.peak_participants,
        bytes_in=row.bytes_in,
        bytes_out=row.bytes_out,
        refusals=row.refusals,
        failovers=row.failovers,
    )
