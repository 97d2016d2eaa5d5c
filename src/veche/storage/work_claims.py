"""Claims of work that every base server hears of: the first to claim a key does the work, the others leave it.

A claim lasts until ``claimed_until``: a server that dies while holding one lets another take it once it passes.
Done work keeps its claim a while (duplicates arriving late are left alone); failed work gives it back. One
atomic statement per claim (``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired``), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.storage.cluster_tables import WorkClaimRow

__all__ = ["WorkClaimStore"]

NO_SYNC = {"synchronize_session": False}
PRUNE_EVERY_S = 60.0


class WorkClaimStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._pruned_at = 0.0

    async def claim(self, key: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Claim ``key`` until ``now + ttl``; False while another holder's claim (or a done one) stands."""
        row = WorkClaimRow
        async with self._sessions.begin() as session:
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            insert = dialect.insert(row).values(key=key, holder=holder, claimed_until=now + ttl)
            statement = insert.on_conflict_do_update(
                index_elements=[row.key],
                set_={"holder": insert.excluded.holder, "claimed_until": insert.excluded.claimed_until},
                where=row.claimed_until < now,
            ).returning(row.holder)
            taken = await session.scalar(statement)
            if time.monotonic() - self._pruned_at > PRUNE_EVERY_S:
                self._pruned_at = time.monotonic()
                await session.execute(delete(row).where(row.claimed_until < now), execution_options=NO_SYNC)
            return taken == holder

    async def keep(self, key: str, holder: str, *, until: datetime) -> None:
        """The work is done: its claim stands until ``until`` (then duplicates would be done again)."""
        row = WorkClaimRow
        async with self._sessions.begin() as session:
            await session.execute(
                update(row).where(row.key == key, row.holder == holder).values(claimed_until=until),
                execution_options=NO_SYNC,
            )

    async def release(self, key: str, holder: str) -> None:
        """The work failed (or needs no keeping): another server may claim it at once."""
        row = WorkClaimRow
        async with self._sessions.begin() as session:
            await session.execute(delete(row).where(row.key == key, row.holder == holder), execution_options=NO_SYNC)
