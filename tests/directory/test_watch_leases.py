"""With several base servers one follows each source's changes, and another takes over when that one dies.

Two DirectorySync instances share one database (SQLite and PostgreSQL), each with its own connection to the
directory (an in-memory server per instance, both told of every change, as two LDAP connections would be).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.support.eventually import eventually
from veche.base.directory.memory import InMemoryDirectoryServer
from veche.base.directory.sync_service import DirectorySync
from veche.config.directory import DirectoryConfig, DirectorySource
from veche.domain.clock import utc_now
from veche.domain.directory import DirectoryPerson
from veche.storage.database import Database
from veche.storage.directory import DirectoryStore
from veche.storage.directory_leases import WatchLeaseStore
from veche.storage.tables import UserRow

SOURCES = [
    DirectorySource(name=name, urls=["ldap://memory"], user_base_dns=["ou=people"], page_size=5)
    for name in ("corp", "hr")
]
CONFIG = DirectoryConfig(sources=SOURCES)
T0 = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)


def person(source: str, i: int, name: str = "") -> DirectoryPerson:
    login = f"{source}{i}"
    return DirectoryPerson(source, f"{source}-{i}", f"uid={login},ou=people", login, name or f"Person {login}")


def base_server(db: Database) -> tuple[DirectorySync, dict[str, InMemoryDirectoryServer]]:
    servers = {s.name: InMemoryDirectoryServer(s, [person(s.name, i) for i in range(3)]) for s in SOURCES}
    sync = DirectorySync(
        CONFIG,
        servers,
        DirectoryStore(db.sessions),
        utc_now,
        leases=WatchLeaseStore(db.sessions),
        lease_ttl_s=1.5,
        lease_renew_s=0.2,
    )
    return sync, servers


async def _display_name(db: Database, login: str) -> str | None:
    async with db.sessions() as session:
        return await session.scalar(select(UserRow.display_name).where(UserRow.login == login))


def _following(sync: DirectorySync) -> set[str]:
    return sync.following_sources


async def test_the_lease_is_held_by_one_until_it_expires(database: Database) -> None:
    leases = WatchLeaseStore(database.sessions)
    ttl = timedelta(seconds=5)
    assert await leases.acquire("corp", "a", now=T0, ttl=ttl)
    assert not await leases.acquire("corp", "b", now=T0 + timedelta(seconds=1), ttl=ttl)
    assert await leases.acquire("corp", "a", now=T0 + timedelta(seconds=4), ttl=ttl)  # renewed until T0 + 9 s
    assert not await leases.acquire("corp", "b", now=T0 + timedelta(seconds=8), ttl=ttl)
    assert await leases.acquire("corp", "b", now=T0 + timedelta(seconds=10), ttl=ttl)  # a stopped renewing
    assert not await leases.acquire("corp", "a", now=T0 + timedelta(seconds=11), ttl=ttl)
    await leases.release("corp", "a")  # not a's any more: nothing happens
    assert (await leases.holder("corp") or ("",))[0] == "b"
    await leases.release("corp", "b")
    assert await leases.acquire("corp", "a", now=T0 + timedelta(seconds=12), ttl=ttl)


async def test_one_base_server_follows_each_source_and_another_takes_over_when_it_dies(database: Database) -> None:
    first, first_servers = base_server(database)
    second, second_servers = base_server(database)
    await first.sync()  # both sources synced once, so watchers follow from the stored cookie
    first.start()
    await eventually(lambda: _async(_following(first)), lambda f: f == {"corp", "hr"}, what="the first follows")
    second.start()
    try:
        rounds = second.lease_rounds
        await eventually(lambda: _async(second.lease_rounds), lambda n: n >= rounds + 2, what="the second tries")

        def change(source: str, name: str) -> None:  # the directory tells every connection
            for servers in (first_servers, second_servers):
                servers[source].put_person(person(source, 1, name))

        change("corp", "Renamed once")
        await eventually(lambda: _display_name(database, "corp1"), lambda n: n == "Renamed once")
        await eventually(lambda: _async(first.watchers["corp"].applied), lambda n: n == 1, what="applied by the first")
        assert second.following_sources == set() and second.watchers["corp"].applied == 0
        assert second.held == set()

        # The first base server dies: its tasks stop without giving anything back (no release, no last write).
        tasks = [*first._tasks, *first._watch_tasks.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

        await eventually(
            lambda: _async(_following(second)), lambda f: f == {"corp", "hr"}, timeout=10, what="the takeover"
        )
        change("hr", "Renamed after the takeover")
        await eventually(lambda: _display_name(database, "hr1"), lambda n: n == "Renamed after the takeover")
        await eventually(lambda: _async(second.watchers["hr"].applied), lambda n: n >= 1, what="applied by the second")
    finally:
        await second.stop()
        await first.stop()
    # A clean stop gives the leases back: nobody holds them any more.
    leases = WatchLeaseStore(database.sessions)
    assert await leases.holder("corp") is None and await leases.holder("hr") is None


async def _async(value: object) -> object:
    return value
