"""Leader locks: which server is the active one of a role that has one (the manager), with an expiry.

The active server renews its lock every second or so; a standby tries to take it and succeeds only once it is
free or expired. One atomic statement per attempt (``INSERT ... ON CONFLICT DO UPDATE ... WHERE holder = me OR
expired``), on SQLite and PostgreSQL alike, as :mod:`veche.storage.directory_leases` does for directory sources.
Each take-over is also written down (``leader_takeovers``) for the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.storage.cluster_tables import LeaderLockRow, LeaderTakeoverRow

__all__ = ["LeaderLockStore", "LockHolder", "Takeover"]

NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True)
class LockHolder:
    holder: str
    expires_at: datetime


@dataclass(frozen=True)
class Takeover:
    at: datetime
    name: str
    holder: str
    previous: str
    epoch: int


class LeaderLockStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def acquire(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take or renew lock ``name`` until ``now + ttl``; False while another holder's is valid."""
        row = LeaderLockRow
        async with self._sessions.begin() as session:
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            insert = dialect.insert(row).values(name=name, holder=holder, expires_at=now + ttl)
            statement = insert.on_conflict_do_update(
                index_elements=[row.name],
                set_={"holder": insert.excluded.holder, "expires_at": insert.excluded.expires_at},
                where=(row.holder == holder) | (row.expires_at < now),
            ).returning(row.holder)
            taken = await session.scalar(statement)
            return taken == holder

    async def release(self, name: str, holder: str) -> None:
        """Give the lock back at once (a clean stop): a standby need not wait for the expiry."""
        row = LeaderLockRow
        async with self._sessions.begin() as session:
            await session.execute(delete(row).where(row.name == name, row.holder == holder), execution_options=NO_SYNC)

    async def holder(self, name: str) -> LockHolder | None:
        async with self._sessions() as session:
            row = await session.get(LeaderLockRow, name)
            return LockHolder(row.holder, row.expires_at) if row else None

    async def record_takeover(self, takeover: Takeover) -> None:
        async with self._sessions.begin() as session:
            session.add(
                LeaderTakeoverRow(
                    at=takeover.at,
                    name=takeover.name,
                    holder=takeover.holder,
                    previous=takeover.previous,
                    epoch=takeover.epoch,
                )
            )

    async def takeovers(self, name: str, limit: int = 50) -> list[Takeover]:
        """The latest take-overs of lock ``name``, newest first."""
        row = LeaderTakeoverRow
        async with self._sessions() as session:
            rows = await session.scalars(select(row).where(row.name == name).order_by(row.id.desc()).limit(limit))
            return [Takeover(r.at, r.name, r.holder, r.previous, r.epoch) for r in rows]
