"""The database connection and migrations (run at start, SQLite or PostgreSQL)."""

from __future__ import annotations

import functools
import logging
import os
import stat
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, make_url, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from veche.storage.unavailable import database_unavailable

__all__ = ["Database"]

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 0x76656368  # "vech"
SQLITE_FILE_MODE = 0o600  # the database holds password hashes and session tokens: the owner only
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
# asyncpg waits 60 s per host by default; with several hosts (a primary and its standby) a dead one must not hold
# every request that long. A URL's own ``timeout`` query parameter wins.
CONNECT_TIMEOUT_S = 5.0


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


class Database:
    """Owns the async engine and session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        # pool_pre_ping: a pooled connection to a crashed or demoted primary is replaced before use.
        kwargs: dict[str, object] = {"pool_pre_ping": True}
        if "timeout" not in make_url(url).query:
            kwargs["connect_args"] = {"timeout": CONNECT_TIMEOUT_S}
        if url.startswith("sqlite"):
            kwargs = {"connect_args": {"timeout": 30}}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if not url.startswith("sqlite"):
            event.listen(self.engine.sync_engine, "handle_error", _invalidate_when_unavailable)
        if url.startswith("sqlite"):
            path = _sqlite_path(url)
            if path is not None:
                _restrict_sqlite_files(path, create=True)
            event.listen(self.engine.sync_engine, "connect", functools.partial(_sqlite_pragmas, path))
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def migrate(self) -> None:
        """Bring the schema to the newest revision."""
        async with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Several roles of a cluster may start at once: one migrates, the others wait and find it done.
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "head"))
        logger.info("database schema is current (%s)", self.engine.dialect.name)

    async def close(self) -> None:
        await self.engine.dispose()


def _invalidate_when_unavailable(context: ExceptionContext) -> None:
    """Treat "this node is read-only now", "shutting down" and the like as a lost connection, so the pool drops it
    and the next checkout connects to whichever host is the primary (``target_session_attrs=read-write``)."""
    if not context.is_disconnect and database_unavailable(context.original_exception):
        context.is_disconnect = True


def _sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL; None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _restrict_sqlite_files(path: Path, *, create: bool) -> None:
    """Make the database file (created empty if absent) and its WAL, shared-memory and journal files 0600.

    SQLite creates its files 0644 (less the umask) and gives the -wal/-shm files the database file's mode, so
    creating the database file 0600 first covers them; an existing looser file (an older Veche) is tightened here.
    """
    if create and path.parent.is_dir():
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, SQLITE_FILE_MODE))
    for file in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_SIDE_FILES)):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & ~SQLITE_FILE_MODE:
            file.chmod(mode & SQLITE_FILE_MODE)
            logger.info("restricted %s to mode %o", file, mode & SQLITE_FILE_MODE)


def _sqlite_pragmas(path: Path | None, dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    if path is not None:
        _restrict_sqlite_files(path, create=False)
