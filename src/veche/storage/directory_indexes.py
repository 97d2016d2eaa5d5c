"""A first large directory sync loads ``directory_entries`` without its search indexes and builds them afterwards.

Each person inserted into an indexed table updates every index one entry at a time: ten b-trees and a trigram GIN
index made the database, not the directory, the bottleneck of a first sync of a million people. Built once from
the loaded table (a sort per b-tree, one pass for the GIN index) the same indexes cost a fraction of that.

So when a source is synced for the first time into an address book that is still small (:data:`DEFER_BELOW`
rows), the search indexes are dropped, their exact definitions (``pg_get_indexdef``) kept in
``directory_deferred_indexes``; the primary key and the unique (source, external id) index the sync itself looks
people up by stay. After the people phase the indexes are built again, two at a time
while the sync goes on with the groups, each in one transaction that also deletes its row: a sync that dies leaves
rows behind, and the next sync (which resumes the pass) builds them. Searches still answer meanwhile, without the
indexes' help. PostgreSQL only; on SQLite nothing is deferred.
"""

from __future__ import annotations

import asyncio
import logging
import re

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.storage.directory_tables import DirectoryDeferredIndexRow, DirectoryEntryRow

__all__ = ["DEFER_BELOW", "DeferredIndexes"]

logger = logging.getLogger(__name__)

DEFER_BELOW = 50_000  # address-book rows: above this, dropping its indexes would slow down everyone's searches
BUILD_MEMORY = "256MB"  # maintenance_work_mem of an index build (the database's memory, not Veche's)
BUILDERS = 2  # indexes built at the same time (the trigram index alone takes as long as all the b-trees)

_SEARCH_INDEXES = text(
    "SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition FROM pg_index i "
    "JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE i.indrelid = CAST('directory_entries' AS regclass) AND NOT i.indisprimary AND NOT i.indisunique "
    "ORDER BY c.relname"
)
_CREATE = re.compile(r"^CREATE INDEX (?!IF NOT EXISTS )")


class DeferredIndexes:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def defer_for_first_load(self, source: str) -> int:
        """Drop the search indexes when ``source`` has nobody yet and the address book is small; how many."""
        async with self._sessions.begin() as session:
            if session.get_bind().dialect.name != "postgresql":
                return 0
            entries = DirectoryEntryRow
            if await session.scalar(select(entries.user_id).where(entries.source == source).limit(1)) is not None:
                return 0
            size = await session.scalar(
                select(func.count()).select_from(select(entries.user_id).limit(DEFER_BELOW).subquery())
            )
            if (size or 0) >= DEFER_BELOW:
                return 0
            indexes = (await session.execute(_SEARCH_INDEXES)).all()
            for name, definition in indexes:
                session.add(DirectoryDeferredIndexRow(name=name, definition=definition))
                await session.execute(text(f'DROP INDEX "{name}"'))
            if indexes:
                logger.info(
                    "directory %s: first sync into a small address book: %d search indexes are built after the load",
                    source,
                    len(indexes),
                )
            return len(indexes)

    async def pending(self) -> int:
        async with self._sessions() as session:
            if session.get_bind().dialect.name != "postgresql":
                return 0
            return await session.scalar(select(func.count()).select_from(DirectoryDeferredIndexRow)) or 0

    async def build(self, builders: int = BUILDERS) -> int:
        """Build every deferred index again, ``builders`` at a time (each index in one transaction, its row
        deleted with it); how many. Searches and reads go on meanwhile; a write to the address book waits."""
        counts = await asyncio.gather(*(self._builder() for _ in range(builders)))
        return sum(counts)

    async def _builder(self) -> int:
        built = 0
        while True:
            async with self._sessions.begin() as session:
                if session.get_bind().dialect.name != "postgresql":
                    return built
                row = await session.scalar(
                    select(DirectoryDeferredIndexRow)
                    .order_by(DirectoryDeferredIndexRow.definition.contains(" USING gin ").desc())  # longest first
                    .order_by(DirectoryDeferredIndexRow.name)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if row is None:
                    return built
                await session.execute(text(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'"))
                await session.execute(text(_CREATE.sub("CREATE INDEX IF NOT EXISTS ", row.definition)))
                await session.execute(
                    delete(DirectoryDeferredIndexRow).where(DirectoryDeferredIndexRow.name == row.name)
                )
                built += 1
                logger.info("directory: search index %s built", row.name)
