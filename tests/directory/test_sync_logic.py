"""Full and incremental sync logic with the in-memory directory, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy import select

from veche.base.directory.full_sync import FullSync
from veche.base.directory.memory import InMemoryDirectoryServer
from veche.base.directory.server import DirectoryUnavailable
from veche.base.directory.sync_service import rules_for
from veche.base.directory.watcher import DirectoryWatcher
from veche.config.directory import DirectorySource
from veche.domain.clock import utc_now
from veche.domain.directory import DirectoryGroup, DirectoryPerson
from veche.storage.database import Database
from veche.storage.directory import DirectoryStore
from veche.storage.tables import UserRow

SOURCE = DirectorySource(
    name="mem",
    urls=["ldap://memory"],
    user_base_dns=["ou=people"],
    group_base_dns=["ou=groups"],
    page_size=10,
    group_roles={"admins": "admin"},
    group_access={"team-1": "own_groups"},
)


def person(i: int, **changes: object) -> DirectoryPerson:
    p = DirectoryPerson("mem", f"id-{i:03d}", f"uid=p{i},ou=people", f"p{i}", f"Человек {i}", f"p{i}@x.test")
    return replace(p, **changes)  # type: ignore[arg-type]


def group(name: str, members: list[str]) -> DirectoryGroup:
    return DirectoryGroup("mem", f"g-{name}", f"cn={name},ou=groups", name, tuple(members))


def directory(n: int = 35) -> InMemoryDirectoryServer:
    people = [person(i) for i in range(n)]
    groups = [
        group("admins", ["cn=team-1,ou=groups"]),
        group("team-1", ["uid=p1,ou=people", "uid=p2,ou=people"]),
    ]
    return InMemoryDirectoryServer(SOURCE, people, groups, {p.dn: "pw" for p in people})


async def _logins(db: Database) -> dict[str, UserRow]:
    async with db.sessions() as session:
        return {u.login: u for u in await session.scalars(select(UserRow))}


async def test_interrupted_sync_resumes_and_disables_only_after_a_complete_pass(database: Database) -> None:
    store = DirectoryStore(database.sessions)
    sync = FullSync(store, utc_now)
    server = directory()
    await sync.run(server, rules_for(SOURCE))
    del server.people_by_id["id-000"]  # gone from the directory
    server.people_by_id["id-005"] = person(5, display_name="Переименован")
    server.fail_after_pages = 2  # the connection breaks in the middle of the next pass
    with pytest.raises(DirectoryUnavailable):
        await sync.run(server, rules_for(SOURCE))
    users = await _logins(database)
    assert not users["p0"].disabled  # the pass did not complete: nobody is disabled yet
    assert (await store.state("mem")).phase == "users"  # type: ignore[union-attr]
    server.fail_after_pages = None
    summary = await sync.run(server, rules_for(SOURCE))
    assert summary.resumed and summary.disabled == 1
    users = await _logins(database)
    assert users["p0"].disabled and users["p5"].display_name == "Переименован"
    assert users["p1"].is_admin and not users["p3"].is_admin  # team-1 is inside admins
    assert (await store.state("mem")).phase == "idle"  # type: ignore[union-attr]


async def test_login_conflicts_are_reported_not_overwritten(database: Database) -> None:
    from veche.storage.users import UserStore

    await UserStore(database.sessions).create(
        login="p3", display_name="Local p3", email="", password_hash="x", is_admin=False, now=utc_now()
    )
    summary = await FullSync(DirectoryStore(database.sessions), utc_now).run(directory(5), rules_for(SOURCE))
    assert summary.people.conflicts == ["p3"] and summary.people.added == 4
    assert (await _logins(database))["p3"].display_name == "Local p3"


async def test_watcher_applies_changes(database: Database) -> None:
    store = DirectoryStore(database.sessions)
    server = directory(5)
    await FullSync(store, utc_now).run(server, rules_for(SOURCE))
    watcher = DirectoryWatcher(server, store, rules_for(SOURCE), FullSync(store, utc_now), utc_now)
    task = asyncio.create_task(watcher.run())
    try:
        server.put_person(person(50, display_name="Новый"))
        server.put_person(person(1, display_name="Изменённый"))
        server.delete("id-002")
        server.put_group(group("team-1", ["uid=p50,ou=people"]))
        for _ in range(200):
            users = await _logins(database)
            if watcher.applied >= 4 and users.get("p50") and users["p50"].is_admin:
                break
            await asyncio.sleep(0.02)
        users = await _logins(database)
        assert users["p50"].display_name == "Новый" and users["p1"].display_name == "Изменённый"
        assert users["p2"].disabled
        assert users["p50"].is_admin and not users["p1"].is_admin  # membership moved to p50
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
