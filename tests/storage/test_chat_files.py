"""Chat file records and usage on SQLite and PostgreSQL: the quota holds under concurrent uploads, deleting frees
it, retention, a chat's deletion and a deleted conference or chat take exactly their files, lists are pages."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

from veche.domain.model import ConferenceAccess, ConferenceType
from veche.storage.chat_files import ChatFile, ChatFileStore
from veche.storage.chat_tables import ChatRow
from veche.storage.conferences import ConferenceStore
from veche.storage.database import Database
from veche.storage.users import UserStore

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _file(chat: str = "conference:1", uploader: str = "user:1", size: int = 100, at: datetime = NOW) -> ChatFile:
    return ChatFile(
        id=secrets.token_urlsafe(32),
        chat=chat,
        uploader=uploader,
        uploader_name="Alice",
        name="Minutes.pdf",
        content_type="application/pdf",
        size=size,
        created_at=at,
    )


async def test_a_file_is_recorded_and_counted(database: Database) -> None:
    store = ChatFileStore(database.sessions)
    file = _file(size=1234)
    assert await store.add_within_quota(file, quota_bytes=10_000)
    assert await store.get(file.id) == file
    assert await store.usage("user:1") == 1234
    assert await store.usage("user:2") == 0


async def test_the_quota_holds_when_uploads_race(database: Database) -> None:
    store = ChatFileStore(database.sessions)
    assert await store.add_within_quota(_file(size=100), quota_bytes=1000)  # the usage row exists already
    results = await asyncio.gather(*(store.add_within_quota(_file(size=300), quota_bytes=1000) for _ in range(8)))
    assert sum(results) == 3  # 100 + 3 * 300 = 1000: exactly at the quota, no further
    assert await store.usage("user:1") == 1000


async def test_the_first_uploads_of_a_user_race_too(database: Database) -> None:
    store = ChatFileStore(database.sessions)
    results = await asyncio.gather(
        *(store.add_within_quota(_file(uploader="user:9", size=400), 1000) for _ in range(5))
    )
    assert sum(results) == 2
    assert await store.usage("user:9") == 800


async def test_no_quota_means_no_limit(database: Database) -> None:
    store = ChatFileStore(database.sessions)
    assert await store.add_within_quota(_file(size=10**12), quota_bytes=None)
    assert await store.usage("user:1") == 10**12


async def test_deleting_frees_the_uploaders_quota(database: Database) -> None:
    store = ChatFileStore(database.sessions)
    first, second = _file(size=600), _file(size=400)
    assert await store.add_within_quota(first, 1000) and await store.add_within_quota(second, 1000)
    assert not await store.add_within_quota(_file(size=1), 1000)
    assert await store.take(first.id) == first
    assert await store.take(first.id) is None
    assert await store.get(first.id) is None
    assert await store.usage("user:1") == 400
    assert await store.add_within_quota(_file(size=600), 1000)


async def test_retention_takes_only_older_files_and_frees_each_uploaders_quota(database: Database) -> None:
    store = ChatFileStore(database.sessions)
    cutoff = NOW - timedelta(days=90)
    old_a = _file(uploader="user:1", size=10, at=cutoff - timedelta(days=1))
    old_b = _file(uploader="user:2", size=20, at=cutoff - timedelta(seconds=1))
    kept = _file(uploader="user:1", size=30, at=cutoff)
    for f in (old_a, old_b, kept):
        assert await store.add_within_quota(f, None)
    taken = await store.take_older_than(cutoff, limit=1)
    assert [f.id for f in taken] == [old_a.id]  # oldest first, one batch at a time
    assert [f.id for f in await store.take_older_than(cutoff, limit=10)] == [old_b.id]
    assert await store.take_older_than(cutoff, limit=10) == []
    assert await store.get(kept.id) == kept
    assert (await store.usage("user:1"), await store.usage("user:2")) == (30, 0)


async def test_a_chats_files_go_with_it_and_others_stay(database: Database) -> None:
    store = ChatFileStore(database.sessions)
    mine = [_file(chat="chat:7", size=5) for _ in range(3)]
    other = _file(chat="chat:8", size=7)
    for f in (*mine, other):
        assert await store.add_within_quota(f, None)
    taken = await store.take_of_chat("chat:7", limit=10)
    assert sorted(f.id for f in taken) == sorted(f.id for f in mine)
    assert await store.in_chat("chat:7", limit=10) == []
    assert await store.in_chat("chat:8", limit=10) == [other]
    assert await store.usage("user:1") == 7


async def test_a_chats_files_are_listed_newest_first_in_pages(database: Database) -> None:
    store = ChatFileStore(database.sessions)
    files = [_file(chat="conference:3", at=NOW + timedelta(minutes=i)) for i in range(5)]
    for f in files:
        assert await store.add_within_quota(f, None)
    first = await store.in_chat("conference:3", limit=2)
    second = await store.in_chat("conference:3", limit=2, offset=2)
    assert [f.id for f in first + second] == [f.id for f in reversed(files)][:4]


async def _conference(database: Database) -> int:
    users = UserStore(database.sessions)
    owner = await users.create(
        login="owner", display_name="Owner", email="", password_hash="h", is_admin=False, now=NOW
    )
    conference = await ConferenceStore(database.sessions).create(
        name="Files",
        owner_id=owner.id,
        type=ConferenceType.ALL_SEE_ALL,
        max_participants=5,
        guests_allowed=False,
        access=ConferenceAccess.OPEN,
        invite_code="files-code",
        slug="files",
        invited=set(),
        moderators=set(),
        now=NOW,
    )
    return conference.id


async def _group_chat(database: Database) -> int:
    async with database.sessions.begin() as session:
        row = ChatRow(kind="group", title="Board", created_at=NOW)
        session.add(row)
        await session.flush()
        return row.id


async def test_files_of_deleted_conferences_and_chats_are_orphans(database: Database) -> None:
    store = ChatFileStore(database.sessions)
    conference, chat = await _conference(database), await _group_chat(database)
    kept = [_file(chat=f"conference:{conference}", size=1), _file(chat=f"chat:{chat}", size=2)]
    orphans = [_file(chat=f"conference:{conference + 1}", size=4), _file(chat=f"chat:{chat + 1}", size=8)]
    for f in (*kept, *orphans):
        assert await store.add_within_quota(f, None)
    taken = await store.take_orphans(limit=10)
    assert sorted(f.id for f in taken) == sorted(f.id for f in orphans)
    assert await store.take_orphans(limit=10) == []

    assert await ConferenceStore(database.sessions).delete(conference)
    assert [f.id for f in await store.take_orphans(limit=10)] == [kept[0].id]
    assert await store.get(kept[1].id) == kept[1]
    assert await store.usage("user:1") == 2
