"""Every access level gets the people an unoptimised reference gives: the visibility rule applied to everyone.

The data is synced like a real directory (groups nest, one large group is an "own groups" scope, departments
and first names correlate as in bench/directory.py), on SQLite and PostgreSQL. For each viewer and query the
search's answer is checked against the reference: the same number of people, each visible and matching, with
prefix matches in the same order (name, later words, login, email; by the matched text), then substring matches.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from veche.base.directory.address_book import query_key
from veche.base.directory.full_sync import FullSync
from veche.base.directory.memory import InMemoryDirectoryServer
from veche.base.directory.sync_service import rules_for
from veche.config.directory import DirectorySource
from veche.domain.clock import utc_now
from veche.domain.directory import DirectoryGroup, DirectoryPerson, Visibility
from veche.storage import address_scopes
from veche.storage.address_book import SUBSTRING_RANK, AddressBookStore
from veche.storage.database import Database
from veche.storage.directory import DirectoryStore
from veche.storage.directory_tables import (
    DirectoryEntryRow,
    DirectoryGroupRow,
    DirectoryScopeMemberRow,
    DirectoryUserGroupRow,
)
from veche.storage.tables import UserRow

SOURCE = DirectorySource(
    name="corp",
    urls=["ldap://memory"],
    user_base_dns=["ou=people"],
    group_base_dns=["ou=groups"],
    page_size=500,
    group_access={"division0": "own_groups"},
)
GIVEN = ["Иван", "Мария", "Пётр", "Анна", "Sergey", "Olga", "John", "Елена"]
SURNAMES = ["Иванов", "Петрова", "Smith", "Кузнецова", "Brown", "Волков"]
DEPARTMENTS = ["Разработка", "Продажи", "Sales", "Support"]
PEOPLE = 1200
TEAMS = 24


def person(i: int) -> DirectoryPerson:
    return DirectoryPerson(
        source="corp",
        external_id=f"id{i:05d}",
        dn=f"uid=u{i:05d},ou=people",
        login=f"u{i:05d}",
        display_name=f"{GIVEN[i % len(GIVEN)]} {SURNAMES[(i // 7) % len(SURNAMES)]}{i % 97}",
        email=f"u{i:05d}@corp.test",
        phone=f"+7 495 {i:07d}",
        department=DEPARTMENTS[i % len(DEPARTMENTS)],
        disabled=i % 101 == 5,
    )


def directory() -> InMemoryDirectoryServer:
    groups = [
        DirectoryGroup(
            "corp", f"t{t}", f"cn=team{t},ou=groups", f"team{t}", tuple(person(i).dn for i in range(t, PEOPLE, TEAMS))
        )
        for t in range(TEAMS)
    ]
    groups += [
        DirectoryGroup(
            "corp",
            f"d{d}",
            f"cn=division{d},ou=groups",
            f"division{d}",
            tuple(f"cn=team{t},ou=groups" for t in range(d, TEAMS, 2)),
        )
        for d in range(2)
    ]
    return InMemoryDirectoryServer(SOURCE, [person(i) for i in range(PEOPLE)], groups)


QUERIES = [
    "и", "ив", "иван", "ивано", "петров", "пётр", "ова", "smi", "SMITH1", "u0012", "0012", "u00", "corp.test",
    "@corp", "495 00012", "sales", "продажи", "olga s", "нет такого", "a", "ан", "e", "%", "ель",
]  # fmt: skip


@dataclass(frozen=True)
class Person:
    user_id: int
    name_key: str
    login_key: str
    email_key: str
    department_key: str
    search_text: str
    groups: frozenset[int]


def _rank(p: Person, key: str, later_words: bool) -> tuple[int, str] | None:
    """The reference ranking: the first prefix column that matches, else a substring match, else None.

    Later words of the name are prefix columns on PostgreSQL only (on SQLite they match as substrings)."""
    words = p.name_key.split(" ")
    columns = [p.name_key]
    if later_words:
        columns += [words[1] if len(words) > 1 else "", words[2] if len(words) > 2 else ""]
    columns += [p.login_key, p.email_key]
    for rank, column in enumerate(columns):
        if column.startswith(key):
            return rank, column
    if len(key) >= 3 and key in p.search_text:
        return SUBSTRING_RANK, p.name_key
    return None


def reference(people: list[Person], key: str, v: Visibility, later_words: bool) -> list[tuple[int, str, int]]:
    found = []
    for p in people:
        visible = (
            v.everyone
            or p.user_id == v.viewer_id
            or (v.department is not None and p.department_key == v.department)
            or bool(p.groups & v.group_ids)
        )
        ranked = _rank(p, key, later_words) if visible else None
        if ranked is not None:
            found.append((ranked[0], ranked[1], p.user_id))
    return sorted(found)


async def _people(db: Database) -> list[Person]:
    async with db.sessions() as session:
        groups: dict[int, set[int]] = {}
        for uid, gid in await session.execute(select(DirectoryUserGroupRow.user_id, DirectoryUserGroupRow.group_id)):
            groups.setdefault(uid, set()).add(gid)
        rows = await session.execute(
            select(DirectoryEntryRow)
            .join(UserRow, UserRow.id == DirectoryEntryRow.user_id)
            .where(UserRow.disabled.is_(False))
        )
        return [
            Person(
                e.user_id,
                e.name_key,
                e.login_key,
                e.email_key,
                e.department_key,
                e.search_text,
                frozenset(groups.get(e.user_id, ())),
            )  # fmt: skip
            for (e,) in rows
        ]


async def test_every_access_level_finds_what_the_reference_finds(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(address_scopes, "SCOPE_MIN_MEMBERS", 100)  # division0 (600 people) is kept as a scope
    await FullSync(DirectoryStore(database.sessions), utc_now).run(directory(), rules_for(SOURCE))
    people = await _people(database)
    async with database.sessions() as session:
        group_ids = {g.name: g.id for g in await session.scalars(select(DirectoryGroupRow))}
    viewer = next(p for p in people if p.login_key == "u00003")  # in team3, so in division1
    store = AddressBookStore(database.sessions)
    postgres = database.url.startswith("postgresql")
    viewers = {
        "everyone": Visibility(viewer.user_id, True),
        "own department": Visibility(viewer.user_id, False, department="sales"),
        "own division": Visibility(viewer.user_id, False, group_ids=frozenset({group_ids["division0"]})),
        "own groups": Visibility(viewer.user_id, False, group_ids=frozenset({group_ids["team3"], group_ids["team5"]})),
        "department and division": Visibility(
            viewer.user_id, False, department="продажи", group_ids=frozenset({group_ids["division0"]})
        ),
        "self": Visibility(viewer.user_id, False),
    }
    for who, visibility in viewers.items():
        for q in QUERIES:
            key = query_key(q)
            expected = reference(people, key, visibility, postgres)
            got = await store.search(key, visibility, limit=20)
            by_id = {p.user_id: p for p in people}
            ranks = []
            for entry in got:
                person_ = by_id[entry.user_id]
                ranked = _rank(person_, key, postgres)
                assert ranked is not None, (who, q, entry.login)
                ranks.append((*ranked, entry.user_id))
            assert {r[2] for r in ranks} <= {e[2] for e in expected}, (who, q)
            assert len(got) == min(20, len(expected)), (who, q, len(got), len(expected))
            # Prefix matches in the reference's order (ties in the matched text in any order), then substrings.
            assert [r[:2] for r in ranks] == [
                (e[0], e[1]) if e[0] != SUBSTRING_RANK else (SUBSTRING_RANK, r[1])
                for e, r in zip(expected, ranks, strict=False)
            ], (who, q)
    if postgres:  # the division is searched through its scope rows there
        async with database.sessions() as session:
            kept = list(await session.scalars(select(DirectoryScopeMemberRow.scope_id).distinct()))
        assert kept == [group_ids["division0"]]
