"""Conference numbers: given at creation, unique, given to older conferences by migration 0021, shown in the REST
API, the conference page and the console."""

from __future__ import annotations

import secrets
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command

from tests.web.conftest import ADMIN_PASSWORD, Api, api  # noqa: F401 - the in-process server fixture
from tests.web.test_pages import login
from veche.storage.database import Database, _alembic_config


@pytest.fixture(params=["sqlite", "postgres"])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        return Database(f"sqlite+aiosqlite:///{tmp_path / 'veche.db'}")
    server_url: str = request.getfixturevalue("postgres_url")
    name = f"t_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(server_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return Database(server_url.rsplit("/", 1)[0] + f"/{name}")


async def test_the_migration_numbers_every_existing_conference(empty_database: Database) -> None:
    db = empty_database
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "0020"))
            await conn.execute(
                sa.text(
                    "INSERT INTO users (id, login, display_name, email, password_hash, is_admin, disabled, created_at)"
                    " VALUES (1, 'o', 'O', '', 'x', false, false, CURRENT_TIMESTAMP)"
                )
            )
            for n in range(30):
                await conn.execute(
                    sa.text(
                        "INSERT INTO conferences (name, owner_id, type, max_participants, guests_allowed, access,"
                        " invite_code, slug, created_at) VALUES (:name, 1, 'all_see_all', 10, false, 'open',"
                        " :code, :slug, CURRENT_TIMESTAMP)"
                    ),
                    {"name": f"c{n}", "code": f"code{n}", "slug": f"slug{n}"},
                )
        await db.migrate()
        async with db.engine.begin() as conn:
            numbers = [row[0] for row in await conn.execute(sa.text("SELECT number FROM conferences"))]
        assert len(numbers) == 30 and len(set(numbers)) == 30
        assert all(n.isdigit() and len(n) == 8 and n[0] != "0" for n in numbers)
    finally:
        await db.close()


def test_every_new_conference_has_its_own_number_in_the_api(api: Api) -> None:  # noqa: F811
    numbers = {api.conference(api.admin_token, name=f"Room {n}")["number"] for n in range(20)}
    assert len(numbers) == 20 and all(n.isdigit() and len(n) == 8 for n in numbers)


def test_the_conference_page_and_the_console_show_the_number(api: Api) -> None:  # noqa: F811
    created = api.conference(api.admin_token, name="Dial me", guests_allowed=True)
    login(api, "admin", ADMIN_PASSWORD)
    page = api.client.get("/" + created["url"].split("/", 3)[3])  # /c/<slug>
    assert f"dial <code>{created['number']}</code> (<code>sip:{created['number']}@testserver</code>)</p>" in page.text
    guests = api.client.get(f"/join/{created['invite_code']}")
    assert f"dial <code>{created['number']}</code>" in guests.text
    closed = api.conference(api.admin_token, name="Staff")  # no guests: a caller by phone would be refused
    page = api.client.get("/" + closed["url"].split("/", 3)[3])
    assert f"dial <code>{closed['number']}</code>" in page.text and "this conference takes none" in page.text
    console = api.client.get(f"/admin/conferences/{created['id']}")
    assert f'<code id="conference-number">{created["number"]}</code>' in console.text
