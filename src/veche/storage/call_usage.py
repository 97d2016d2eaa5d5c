"""The call history's roll-ups for the Statistics page, written in the transaction that changes the history.

:func:`add_call_usage` is called by :class:`veche.storage.call_history.CallHistoryStore` with the difference its
change makes (:func:`veche.domain.call_usage.call_usage_delta`): a batch stored once adds once, a batch sent again
changes no session and so adds nothing. Read by :class:`veche.storage.usage_stats.UsageStatsStore`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from veche.domain.call_usage import CallUsage
from veche.domain.usage_stats import Granularity
from veche.storage.usage_tables import UsageCallDailyRow, UsageCallHourlyRow

__all__ = ["CALL_TABLES", "add_call_usage"]

CALL_TABLES: dict[Granularity, type[UsageCallHourlyRow] | type[UsageCallDailyRow]] = {
    Granularity.HOUR: UsageCallHourlyRow,
    Granularity.DAY: UsageCallDailyRow,
}


async def add_call_usage(db: AsyncSession, changes: Sequence[CallUsage]) -> None:
    if not changes:
        return
    dialect: Any = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    for by, table in CALL_TABLES.items():
        rows = [
            {"scope": c.scope, "at": c.at_s, "participant_ms": c.participant_ms, "sessions": c.sessions}
            for c in changes
            if c.by is by
        ]
        if not rows:
            continue
        stmt = dialect.insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.scope, table.at],
            set_={
                "participant_ms": table.participant_ms + stmt.excluded.participant_ms,
                "sessions": table.sessions + stmt.excluded.sessions,
            },
        )
        await db.execute(stmt, rows)
