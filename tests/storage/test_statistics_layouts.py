"""Each administrator's Statistics page arrangement in the database (SQLite and PostgreSQL): kept, replaced, and
gone with its user."""

from __future__ import annotations

from datetime import UTC, datetime

from veche.storage.database import Database
from veche.storage.statistics_layouts import StatisticsLayoutStore
from veche.storage.users import UserStore

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


async def test_an_arrangement_is_kept_replaced_and_goes_with_its_user(database: Database) -> None:
    users, layouts = UserStore(database.sessions), StatisticsLayoutStore(database.sessions)
    ada = await users.create(login="ada", display_name="Ada", email="", password_hash=None, is_admin=True, now=NOW)
    heir = await users.create(login="bob", display_name="Bob", email="", password_hash=None, is_admin=True, now=NOW)
    assert await layouts.get(ada.id) is None
    first = {"charts": [{"figure": "cpu_percent", "kind": "line"}]}
    await layouts.put(ada.id, first, NOW)
    assert await layouts.get(ada.id) == first
    second = {"charts": [{"figure": "refusals", "kind": "bar"}, {"figure": "cpu_percent", "kind": "line"}]}
    await layouts.put(ada.id, second, NOW)
    assert await layouts.get(ada.id) == second
    assert await layouts.get(heir.id) is None

    assert await users.delete(ada.id, heir_id=heir.id)
    assert await layouts.get(ada.id) is None
