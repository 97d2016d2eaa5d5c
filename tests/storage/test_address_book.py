"""Address book search on SQLite and PostgreSQL (pg_trgm): the same answers from both."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from veche.base.directory.address_book import query_key
from veche.domain.clock import utc_now
from veche.domain.directory import DirectoryPerson, Visibility
from veche.storage import address_book
from veche.storage.address_book import AddressBookStore
from veche.storage.database import Database
from veche.storage.directory import DirectoryStore
from veche.storage.users import UserStore

PEOPLE = [
    DirectoryPerson(
        "corp", "1", "uid=ivanov", "ivanov", "Иван Иванов", "ivanov@corp.test", "+7 495 123-45-67", "Разработка"
    ),
    DirectoryPerson("corp", "2", "uid=petrova", "petrova", "Мария Петрова", "maria@corp.test", "", "Разработка"),
    DirectoryPerson("corp", "3", "uid=smith", "smith", "John Smith", "john@corp.test", "", "Sales"),
    DirectoryPerson("corp", "4", "uid=gone", "gone", "Иван Ушедший", "gone@corp.test", disabled=True),
]


async def _found(store: AddressBookStore, q: str, visibility: Visibility | None = None) -> list[str]:
    entries = await store.search(query_key(q), visibility or Visibility(0, True), limit=20)
    return [e.login for e in entries]


async def test_search_prefix_substring_cyrillic_phone(database: Database) -> None:
    await DirectoryStore(database.sessions).upsert_people(PEOPLE, default_access=4, now=utc_now())
    await UserStore(database.sessions).create(
        login="ivan.local", display_name="Иван Локальный", email="", password_hash="x", is_admin=False, now=utc_now()
    )
    store = AddressBookStore(database.sessions)
    assert await _found(store, "Ив") == ["ivanov", "ivan.local"]  # short: name prefixes, by name
    assert sorted(await _found(store, "иван")) == ["ivan.local", "ivanov"]
    assert await _found(store, "ПЕТРОВ") == ["petrova"]  # prefix of the surname is a substring of the name
    assert await _found(store, "ohn sm") == ["smith"]
    assert await _found(store, "maria@") == ["petrova"]
    assert await _found(store, "123-45") == ["ivanov"]
    assert sorted(await _found(store, "разработка")) == ["ivanov", "petrova"]
    assert await _found(store, "ушедш") == []  # disabled people are not in the address book
    assert await _found(store, "100%") == []
    mine = Visibility(0, False, department="sales")
    assert await _found(store, "o", mine) == []  # short query: prefixes only
    assert await _found(store, "john", mine) == ["smith"]
    assert await _found(store, "иван", mine) == []


async def test_trigram_index_on_postgresql(database: Database) -> None:
    if not database.url.startswith("postgresql"):
        return
    async with database.engine.connect() as conn:
        index = await conn.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_directory_entries_search_trgm'")
        )
    assert index is not None and "gin_trgm_ops" in index


TEAM = [
    DirectoryPerson("corp", f"t{i}", f"uid=t{i}", f"t{i}", name, f"t{i}@corp.test", "", dept)
    for i, (name, dept) in enumerate(
        [
            ("Пётр Иванович Петров", "Разработка"),
            ("Петра Смирнова", "Разработка"),
            ("Анна Петрова", "Продажи"),
            ("Olga Petrova", "Продажи"),
            ("Иван Сидоров", "Продажи"),
        ]
    )
]


async def test_later_words_of_a_name_match_as_prefixes_after_whole_names(database: Database) -> None:
    await DirectoryStore(database.sessions).upsert_people(TEAM, default_access=4, now=utc_now())
    store = AddressBookStore(database.sessions)
    # Names starting with the text first (ё is е), then names with a later word starting with it; each once.
    assert await _found(store, "петр") == ["t0", "t1", "t2"]
    assert await _found(store, "петров") == ["t2", "t0"]
    assert await _found(store, "иванович") == ["t0"]
    assert await _found(store, "ова") == ["t2", "t1"]  # inside words only: the substring match, by name
    assert await _found(store, "petrov") == ["t3"]


async def test_restricted_viewers_get_the_same_answers_whichever_way_they_are_searched(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite few visible people are searched among themselves, many through the indexes; on PostgreSQL a
    department through its own indexes: the answers must not differ."""
    directory = DirectoryStore(database.sessions)
    await directory.upsert_people(TEAM, default_access=4, now=utc_now())
    store = AddressBookStore(database.sessions)
    viewer = (await store.search(query_key("t4"), Visibility(0, True), limit=1))[0].user_id
    sales = Visibility(viewer, False, department="продажи")
    queries = ["петр", "пе", "ова", "t", "olga", "corp.test", "сидоров", "разработка"]
    small = [await _found(store, q, sales) for q in queries]
    monkeypatch.setattr(address_book, "VISIBLE_FIRST_MAX", 0)
    assert [await _found(store, q, sales) for q in queries] == small
    assert small[0] == ["t2"] and small[3] == ["t2", "t3", "t4"] and small[7] == []
