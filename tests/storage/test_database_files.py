"""The SQLite database and its WAL/shared-memory files are readable by Veche's user only (issue 15, item 9)."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from veche.storage.database import Database


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common umask 022, under which SQLite's own files come out 0644."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _use(db: Database) -> None:
    await db.migrate()
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE probe (x INTEGER)"))
        await conn.execute(text("INSERT INTO probe VALUES (1)"))


async def test_a_new_database_and_its_wal_are_0600(tmp_path: Path) -> None:
    path = tmp_path / "veche.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await _use(db)
        files = [path, path.with_name("veche.db-wal"), path.with_name("veche.db-shm")]
        assert all(f.exists() for f in files)  # the pool keeps a connection open: WAL mode's files are there
        assert {f.name: oct(_mode(f)) for f in files} == {f.name: "0o600" for f in files}
    finally:
        await db.close()


async def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "veche.db"
    older = sqlite3.connect(path)  # as an older Veche left it: 0644, in WAL mode, its -wal/-shm still there
    older.execute("PRAGMA journal_mode=WAL")
    older.execute("CREATE TABLE kept (x INTEGER)")
    older.commit()
    files = [path, path.with_name("veche.db-wal"), path.with_name("veche.db-shm")]
    try:
        for f in files:
            f.chmod(0o644)
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await _use(db)
            assert {f.name: oct(_mode(f)) for f in files} == {f.name: "0o600" for f in files}
            async with db.engine.connect() as conn:
                assert (await conn.execute(text("SELECT count(*) FROM kept"))).scalar_one() == 0
        finally:
            await db.close()
    finally:
        older.close()
