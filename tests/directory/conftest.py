"""Real slapd servers for the directory tests: two replicas-alike seeded with the same people and groups.

People have Cyrillic and Latin names; groups nest (staff > engineering > backend); ``it-admins`` sits inside
``veche-admins``, which grants the admin role. Each test gets its own SQLite database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.directory.slapd import (
    ADMIN_DN,
    ADMIN_PASSWORD,
    BASE_DN,
    Person,
    Slapd,
    group_ldif,
    ldif_entries,
    person_ldif,
    running_slapd,
)
from tests.storage.conftest import database  # noqa: F401 - SQLite and PostgreSQL per test
from veche.config.directory import DirectorySource
from veche.storage.database import Database

PEOPLE = [
    Person("ivanov", "Иван", "Иванов", "ivanov-pass", "ivanov@veche.test", "+7 495 123-45-67", "Разработка", "Инженер"),
    Person("petrova", "Мария", "Петрова", "petrova-pass", "petrova@veche.test", "+7 495 765-43-21", "Разработка"),
    Person("smith", "John", "Smith", "smith-pass", "smith@veche.test", "+1 555 0100", "Sales", "Account manager"),
    Person("jones", "Anna", "Jones", "jones-pass", "jones@veche.test", "", "Sales"),
    Person("olga", "Ольга", "Админова", "olga-pass", "olga@veche.test", "", "IT", "Администратор"),
    Person("blocked", "Борис", "Заблокированный", "blocked-pass", "blocked@veche.test", "", "IT", disabled=True),
    Person("alena", "Алёна", "Одинокая", "alena-pass", "alena@veche.test", "", "Бухгалтерия"),
]
BULK = [
    Person(
        f"user{i:03d}", ["Пётр", "Анна", "Sergey", "Ольга"][i % 4], f"Сотрудник{i:03d}", "", f"user{i:03d}@veche.test"
    )
    for i in range(200)
]


def _dn(uid: str) -> str:
    return f"uid={uid},ou=people,{BASE_DN}"


def _group(cn: str) -> str:
    return f"cn={cn},ou=groups,{BASE_DN}"


GROUPS = {
    "staff": [_group("engineering"), _group("sales")],
    "engineering": [_group("backend"), _group("frontend")],
    "backend": [_dn("ivanov")],
    "frontend": [_dn("petrova")],
    "sales": [_dn("smith")],
    "veche-admins": [_group("it-admins")],
    "it-admins": [_dn("olga")],
    "bulk": [p.dn for p in BULK],
}


def seed() -> list[str]:
    return [
        ldif_entries(),
        *(person_ldif(p) for p in PEOPLE + BULK),
        *(group_ldif(cn, members) for cn, members in GROUPS.items()),
    ]


@pytest.fixture(scope="session")
def slapd() -> Iterator[Slapd]:
    with running_slapd(seed()) as server:
        yield server


@pytest.fixture(scope="session")
def slapd_replica() -> Iterator[Slapd]:
    """A second server with the same data (same entryUUIDs): the failover target."""
    with running_slapd(seed()) as server:
        yield server


@pytest.fixture
def make_source(tmp_path: Path) -> Callable[..., DirectorySource]:
    password_file = tmp_path / "bind_password"
    password_file.write_text(ADMIN_PASSWORD + "\n")

    def make(*urls: str, **overrides: Any) -> DirectorySource:
        fields: dict[str, Any] = {
            "name": "corp",
            "kind": "openldap",
            "urls": list(urls),
            "bind_dn": ADMIN_DN,
            "bind_password_file": password_file,
            "user_base_dns": [f"ou=people,{BASE_DN}"],
            "group_base_dns": [f"ou=groups,{BASE_DN}"],
            "disabled_filter": "(employeeType=disabled)",
            "group_roles": {"veche-admins": "admin"},
            "group_access": {"sales": "own_department", "engineering": "own_groups"},
            "page_size": 50,
            "timeout_s": 2,
        }
        fields.update(overrides)
        return DirectorySource.model_validate(fields)

    return make


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'veche.db'}")
    await db.migrate()
    try:
        yield db
    finally:
        await db.close()


__all__ = ["BULK", "GROUPS", "PEOPLE", "database"]
