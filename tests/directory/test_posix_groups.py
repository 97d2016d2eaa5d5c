"""OpenLDAP posixGroup (RFC 2307): members listed by login in ``memberUid``, against a real slapd."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.directory.conftest import PEOPLE
from tests.directory.slapd import (
    Person,
    Slapd,
    ldif_entries,
    person_ldif,
    posix_group_ldif,
    running_slapd,
)
from veche.config.directory import DirectorySource
from veche.config.settings import load_settings
from veche.container import Container
from veche.storage.database import Database
from veche.storage.directory import DirectoryStore
from veche.storage.tables import UserRow

Make = Callable[..., DirectorySource]
LATECOMER = Person("latecomer", "Лев", "Поздний", "late-pass", "late@veche.test")
GROUPS = {
    "developers": ["ivanov", "Petrova", "ghost"],  # logins compare case-insensitively; nobody is called ghost
    "veche-admins": ["olga"],
    "sales": ["smith"],
    "latecomers": [LATECOMER.uid],  # in the group before he is in the directory
    "empty": [],
}


@pytest.fixture(scope="module")
def posix_slapd() -> Iterator[Slapd]:
    people = [p for p in PEOPLE if p.uid in {"ivanov", "petrova", "smith", "olga", "alena"}]
    seed = [ldif_entries(), *(person_ldif(p) for p in people)]
    seed += [posix_group_ldif(cn, 1000 + i, logins) for i, (cn, logins) in enumerate(GROUPS.items())]
    with running_slapd(seed) as server:
        yield server


def _posix_source(make_source: Make, server: Slapd) -> DirectorySource:
    return make_source(
        server.url,
        group_filter="(objectClass=posixGroup)",
        attributes={"group_member": "memberUid"},  # the other attributes keep their defaults
    )


async def _groups_by_login(db: Database) -> dict[str, tuple[bool, list[str]]]:
    """login -> (administrator, his groups)."""
    store = DirectoryStore(db.sessions)
    async with db.sessions() as session:
        users = list(await session.scalars(select(UserRow)))
    return {u.login: (u.is_admin, await store.groups_of(u.id)) for u in users}


async def test_full_sync_resolves_members_by_login(database: Database, posix_slapd: Slapd, make_source: Make) -> None:
    from veche.base.directory.ldap.server import LdapDirectoryServer
    from veche.base.directory.sync_service import DirectorySync
    from veche.config.directory import DirectoryConfig
    from veche.domain.clock import utc_now

    source = _posix_source(make_source, posix_slapd)
    store = DirectoryStore(database.sessions)
    sync = DirectorySync(DirectoryConfig(sources=[source]), {"corp": LdapDirectoryServer(source)}, store, utc_now)
    [summary] = await sync.sync()
    assert (summary.people.added, summary.groups) == (5, len(GROUPS))
    assert await _groups_by_login(database) == {
        "ivanov": (False, ["developers"]),
        "petrova": (False, ["developers"]),
        "smith": (False, ["sales"]),
        "olga": (True, ["veche-admins"]),  # veche-admins grants the admin role
        "alena": (False, []),
    }
    [again] = await sync.sync()
    assert (again.people.unchanged, again.disabled, again.groups_removed) == (5, 0, 0)
    assert (await _groups_by_login(database))["olga"] == (True, ["veche-admins"])


async def _eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"not within {timeout_s:.0f} s"
        await asyncio.sleep(0.05)


async def test_member_changes_and_a_new_person_follow(tmp_path: Path, posix_slapd: Slapd, make_source: Make) -> None:
    source = _posix_source(make_source, posix_slapd)
    settings = load_settings(None, data_dir=tmp_path, directory={"sources": [source.model_dump()], "watch": True})
    container = Container(settings, ["base"])
    db = container.get_database()
    await db.migrate()
    sync = container.get_directory_sync()
    sync.start()
    developers, admins = (f"cn={cn},ou=groups,dc=veche,dc=test" for cn in ("developers", "veche-admins"))
    added = False
    try:
        await asyncio.wait_for(sync.watchers["corp"].connected.wait(), 30)  # after the first full sync
        posix_slapd.modify(developers, {"memberUid": ("add", ["alena"])})
        posix_slapd.modify(admins, {"memberUid": ("delete", ["olga"])})

        async def changed() -> bool:
            groups: dict[str, Any] = await _groups_by_login(db)
            return groups["alena"] == (False, ["developers"]) and groups["olga"] == (False, [])

        await _eventually(changed)
        posix_slapd.add_person(LATECOMER)
        added = True

        async def arrived() -> bool:
            return (await _groups_by_login(db)).get(LATECOMER.uid) == (False, ["latecomers"])

        await _eventually(arrived)
        login = await container.get_auth().login(LATECOMER.uid, LATECOMER.password, client="c", kind="api")
        assert login.user.login == LATECOMER.uid
    finally:
        await sync.stop()
        await db.close()
        posix_slapd.modify(developers, {"memberUid": ("delete", ["alena"])})
        posix_slapd.modify(admins, {"memberUid": ("add", ["olga"])})
        if added:
            posix_slapd.delete(LATECOMER.dn)
