"""A fresh, migrated database per test: SQLite and the throwaway PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from veche.storage.database import Database


@pytest.fixture(params=["sqlite", "postgres"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'veche.db'}")
    else:
        server_url: str = request.getfixturevalue("postgres_url")
        name = f"t_{secrets.token_hex(6)}"
        plain = server_url.replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(plain)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        db = Database(server_url.rsplit("/", 1)[0] + f"/{name}")
    await db.migrate()
    try:
        yield db
    finally:
        await db.close()
