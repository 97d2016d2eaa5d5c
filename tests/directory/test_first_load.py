"""A first sync loads the address book without its search indexes and builds them again (PostgreSQL).

What an operator would notice if this went wrong: searches slow for good (an index never rebuilt, or rebuilt
differently), or a sync that died leaving the address book without indexes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import text

from tests.directory.conftest import BULK, PEOPLE
from tests.directory.slapd import Slapd
from veche.base.directory.address_book import query_key
from veche.base.directory.ldap.server import LdapDirectoryServer
from veche.base.directory.server import DirectoryUnavailable
from veche.base.directory.sync_service import DirectorySync
from veche.config.directory import DirectoryConfig, DirectorySource
from veche.domain.clock import utc_now
from veche.domain.directory import DirectoryPerson, Visibility
from veche.storage import directory_indexes
from veche.storage.address_book import AddressBookStore
from veche.storage.database import Database
from veche.storage.directory import DirectoryStore

Make = Callable[..., DirectorySource]


async def _indexes(db: Database) -> dict[str, str]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'directory_entries'")
        )
        return {name: definition for name, definition in rows}


async def _deferred(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM directory_deferred_indexes")) or 0)


class _DiesAfterFirstPage(LdapDirectoryServer):
    """The directory connection breaks after one page of people: the sync stops with the load half done."""

    async def people(self) -> AsyncIterator[list[DirectoryPerson]]:
        async for page in super().people():
            yield page
            raise DirectoryUnavailable("Directory source corp: connection lost (test).")


def _sync(db: Database, source: DirectorySource, server: LdapDirectoryServer | None = None) -> DirectorySync:
    return DirectorySync(
        DirectoryConfig(sources=[source]),
        {"corp": server or LdapDirectoryServer(source)},
        DirectoryStore(db.sessions),
        utc_now,
    )


async def _finds(db: Database, query: str) -> list[str]:
    found = await AddressBookStore(db.sessions).search(query_key(query), Visibility(0, True), limit=20)
    return [e.display_name for e in found]


async def test_first_sync_builds_the_same_search_indexes_again(
    database: Database, slapd: Slapd, make_source: Make
) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("indexes are deferred on PostgreSQL only")
    before = await _indexes(database)
    assert "ix_directory_entries_search_trgm" in before
    [summary] = await _sync(database, make_source(slapd.url)).sync()
    assert summary.people.added == len(PEOPLE) + len(BULK)
    assert await _indexes(database) == before
    assert await _deferred(database) == 0
    assert "Иван Иванов" in await _finds(database, "ванов")  # a substring: the trigram index's kind of search


async def test_a_sync_that_dies_mid_load_leaves_indexes_the_next_sync_builds(
    database: Database, slapd: Slapd, make_source: Make
) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("indexes are deferred on PostgreSQL only")
    before = await _indexes(database)
    source = make_source(slapd.url)
    with pytest.raises(DirectoryUnavailable):
        await _sync(database, source, _DiesAfterFirstPage(source)).sync()
    assert await _deferred(database) == len(before) - 2  # all but the primary key and (source, external id)
    async with database.engine.connect() as conn:  # somebody of the page that was stored
        stored = str(await conn.scalar(text("SELECT display_name FROM users WHERE login <> '' LIMIT 1")))
    assert stored in await _finds(database, stored[1:5])  # searches still answer meanwhile, without the indexes

    [summary] = await _sync(database, source).sync()
    assert summary.resumed
    assert await _indexes(database) == before
    assert await _deferred(database) == 0


async def test_indexes_stay_when_the_address_book_is_already_large(
    database: Database, slapd: Slapd, make_source: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("indexes are deferred on PostgreSQL only")
    source = make_source(slapd.url)
    await _sync(database, source).sync()
    monkeypatch.setattr(directory_indexes, "DEFER_BELOW", 10)  # the address book now counts as large
    other = make_source(slapd.url, name="second")
    store = DirectoryStore(database.sessions)
    assert await store.indexes.defer_for_first_load(other.name) == 0
    assert await store.indexes.defer_for_first_load(source.name) == 0  # a source synced before: never
    assert await _deferred(database) == 0
