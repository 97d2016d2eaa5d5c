"""A re-sync writes only what changed: nothing at all when the directory did not change (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import event, select

from veche.base.directory.full_sync import FullSync
from veche.base.directory.memory import InMemoryDirectoryServer
from veche.base.directory.sync_service import rules_for
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
    page_size=7,
    group_roles={"admins": "admin"},
    group_access={"division": "own_groups"},
)
# What the address book and logins are made of; the sync's own checkpoint and status rows are bookkeeping.
DATA_TABLES = (
    "users",
    "directory_entries",
    "directory_groups",
    "directory_group_members",
    "directory_group_closure",
    "directory_user_groups",
)


def person(i: int) -> DirectoryPerson:
    return DirectoryPerson("mem", f"id-{i:03d}", f"uid=p{i},ou=people", f"p{i}", f"Человек {i}", f"p{i}@x.test")


def group(name: str, members: list[str]) -> DirectoryGroup:
    return DirectoryGroup("mem", f"g-{name}", f"cn={name},ou=groups", name, tuple(members))


def directory() -> InMemoryDirectoryServer:
    people = [person(i) for i in range(40)]
    groups = [
        group("admins", ["cn=team-a,ou=groups"]),
        group("division", ["cn=team-a,ou=groups", "cn=team-b,ou=groups"]),
        group("team-a", [f"uid=p{i},ou=people" for i in range(0, 20)]),
        group("team-b", [f"uid=p{i},ou=people" for i in range(20, 35)]),
    ]
    return InMemoryDirectoryServer(SOURCE, people, groups)


@contextmanager
def rows_written(db: Database) -> Iterator[Counter[str]]:
    """Rows inserted, updated or deleted per data table while the block runs (statement row counts)."""
    written: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        words = statement.lstrip().split(None, 3)
        verb = words[0].upper() if words else ""
        if verb not in ("INSERT", "UPDATE", "DELETE"):
            return
        table = words[2] if verb in ("INSERT", "DELETE") else words[1]
        table = table.strip('"(')
        if table not in DATA_TABLES:
            return
        rows = cursor.rowcount
        if rows is None or rows < 0:
            rows = len(parameters) if executemany else 1
        written[table] += rows

    engine = db.engine.sync_engine
    event.listen(engine, "after_cursor_execute", count)
    try:
        yield written
    finally:
        event.remove(engine, "after_cursor_execute", count)


async def _groups_of(db: Database) -> dict[str, set[str]]:
    store = DirectoryStore(db.sessions)
    async with db.sessions() as session:
        users = {u.login: u.id for u in await session.scalars(select(UserRow))}
    return {login: set(await store.groups_of(uid)) for login, uid in users.items()}


async def test_a_resync_with_nothing_changed_writes_no_row(database: Database) -> None:
    store = DirectoryStore(database.sessions)
    server = directory()
    with rows_written(database) as first:
        await FullSync(store, utc_now).run(server, rules_for(SOURCE))
    assert first["directory_user_groups"] == 20 * 3 + 15 * 2  # team + division (+ admins for team-a)
    before = await _groups_of(database)
    with rows_written(database) as again:
        summary = await FullSync(store, utc_now).run(server, rules_for(SOURCE))
    assert summary.people.unchanged == 40 and summary.disabled == 0
    assert sum(again.values()) == 0, again
    assert await _groups_of(database) == before
    assert before["p3"] == {"admins", "division", "team-a"} and before["p36"] == set()


async def test_a_resync_writes_only_the_people_and_memberships_that_changed(database: Database) -> None:
    store = DirectoryStore(database.sessions)
    server = directory()
    await FullSync(store, utc_now).run(server, rules_for(SOURCE))
    server.people_by_id["id-005"] = replace(person(5), display_name="Переименован")
    del server.people_by_id["id-039"]
    b = server.groups_by_id["g-team-b"]
    server.groups_by_id["g-team-b"] = replace(b, members=(*b.members[1:], "uid=p36,ou=people"))  # p20 out, p36 in
    with rows_written(database) as written:
        summary = await FullSync(store, utc_now).run(server, rules_for(SOURCE))
    assert (summary.people.updated, summary.people.unchanged, summary.disabled) == (1, 38, 1)
    assert written["directory_group_members"] == 2  # one member row deleted, one inserted
    assert written["directory_groups"] == 1
    assert written["directory_user_groups"] == 4  # p20 leaves team-b and division, p36 joins them
    assert written["directory_group_closure"] == 0
    # p5 rewritten; p39's fingerprint forgotten; p20 and p36 change access level (in or out of the division)
    assert written["directory_entries"] == 4
    groups = await _groups_of(database)
    assert groups["p20"] == set() and groups["p36"] == {"division", "team-b"}
    async with database.sessions() as session:
        users = {u.login: u for u in await session.scalars(select(UserRow))}
    assert users["p39"].disabled and users["p5"].display_name == "Переименован"
    assert written["users"] == 2  # p5 rewritten, p39 disabled
