"""Which base server follows each directory source's changes: a lease row per source, with an expiry.

A base server takes a source's lease when it is free or expired, renews it every few seconds while it follows
the source, and gives it back when it stops. A server that dies stops renewing: once the expiry passes, another
takes it over. One atomic statement per attempt (``INSERT ... ON CONFLICT DO UPDATE ... WHERE``), on SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.storage.directory_tables import NO_SYNC, DirectoryWatchLeaseRow

__all__ = ["WatchLeaseStore"]


class WatchLeaseStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def acquire(self, source: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease of ``source`` until ``now + ttl``; False while another holder's is valid."""
        row = DirectoryWatchLeaseRow
        async with self._sessions.begin() as session:
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            insert = dialect.insert(row).values(source=source, holder=holder, expires_at=now + ttl)
            statement = insert.on_conflict_do_update(
                index_elements=[row.source],
                set_={"holder": insert.excluded.holder, "expires_at": insert.excluded.expires_at},
                where=(row.holder == holder) | (row.expires_at < now),
            ).returning(row.holder)
            taken = await session.scalar(statement)
            return taken == holder

    async def release(self, source: str, holder: str) -> None:
        """Give the lease back at once (a clean stop): another server need not wait for the expiry."""
        row = DirectoryWatchLeaseRow
        async with self._sessions.begin() as session:
            await session.execute(
                delete(row).where(row.source == source, row.holder == holder), execution_options=NO_SYNC
            )

    async def holder(self, source: str) -> tuple[str, datetime] | None:
        async with self._sessions() as session:
            row = await session.get(DirectoryWatchLeaseRow, source)
            return (row.holder, row.expires_at) if row else None
