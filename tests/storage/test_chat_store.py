"""The chats store on SQLite and PostgreSQL: one direct chat per pair, members and read positions, my chats by
their newest message with unread counts, history pages by id, search confined to one's chats, attachments kept
with their message, retention covering every chat."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from veche.domain.chat_access import Attachment, ChatRef
from veche.domain.chat_rules import direct_pair
from veche.domain.model import ConferenceAccess, ConferenceType
from veche.storage.chats import ChatStore
from veche.storage.conferences import ChatStore as ConferenceChatStore
from veche.storage.conferences import ConferenceStore
from veche.storage.database import Database
from veche.storage.tables import ChatMessageRow
from veche.storage.users import UserStore

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


async def _users(database: Database, *names: str) -> list[int]:
    users = UserStore(database.sessions)
    return [
        (await users.create(login=n, display_name=n.title(), email="", password_hash="h", is_admin=False, now=NOW)).id
        for n in names
    ]


async def _say(store: ChatStore, chat: ChatRef, user_id: int, text: str, **kw: object) -> int:
    stored = await store.add_message(
        chat,
        sender=f"user:{user_id}",
        sender_user_id=user_id,
        display_name="X",
        text=text,
        now=NOW,
        **kw,  # type: ignore[arg-type]
    )
    assert stored is not None
    return stored.id


async def test_one_direct_chat_per_pair_even_when_both_start_it_at_once(database: Database) -> None:
    anna, bob = await _users(database, "anna", "bob")
    store = ChatStore(database.sessions)
    pair = direct_pair(anna, bob)
    first, second = await asyncio.gather(store.direct(anna, bob, pair, NOW), store.direct(bob, anna, pair, NOW))
    assert first.id == second.id
    assert {m.user_id for m in first.members} == {anna, bob}
    assert (await store.direct(anna, bob, pair, NOW)).id == first.id


async def test_my_chats_newest_first_with_unread_counts(database: Database) -> None:
    anna, bob, carl = await _users(database, "anna", "bob", "carl")
    store = ChatStore(database.sessions)
    direct = (await store.direct(anna, bob, direct_pair(anna, bob), NOW)).id
    team = (await store.group(anna, "Team", {bob, carl}, NOW)).id
    await _say(store, ChatRef("chat", team), anna, "one")
    read_to = await _say(store, ChatRef("chat", direct), anna, "two")
    await _say(store, ChatRef("chat", direct), anna, "three")

    page = await store.my_chats(bob, limit=10, offset=0)
    assert page.total == 2
    assert [(i.chat.id, i.unread, i.last_message.text if i.last_message else None) for i in page.items] == [
        (direct, 2, "three"),
        (team, 1, "one"),
    ]
    assert [i.unread for i in (await store.my_chats(anna, limit=10, offset=0)).items] == [0, 0]
    await store.mark_read(direct, bob, read_to)
    await store.mark_read(direct, bob, 1)  # never back
    assert (await store.my_chats(bob, limit=1, offset=0)).items[0].unread == 1
    assert [i.chat.title for i in (await store.my_chats(carl, limit=10, offset=0)).items] == ["Team"]
    assert (await store.my_chats(carl, limit=10, offset=1)).items == []


async def test_only_members_post_to_a_chat(database: Database) -> None:
    anna, bob, eve = await _users(database, "anna", "bob", "eve")
    store = ChatStore(database.sessions)
    chat = ChatRef("chat", (await store.direct(anna, bob, direct_pair(anna, bob), NOW)).id)
    stored = await store.add_message(chat, sender="user:x", sender_user_id=eve, display_name="E", text="hi", now=NOW)
    assert stored is None
    assert (await store.page(chat)).messages == []


async def test_pages_go_back_by_id_in_a_conference_and_in_a_chat(database: Database) -> None:
    (anna,) = await _users(database, "anna")
    conference = await ConferenceStore(database.sessions).create(
        name="C",
        owner_id=anna,
        type=ConferenceType.ALL_SEE_ALL,
        max_participants=5,
        guests_allowed=False,
        access=ConferenceAccess.OPEN,
        invite_code="code",
        slug="slug",
        invited=set(),
        moderators=set(),
        now=NOW,
    )
    store = ChatStore(database.sessions)
    ref = ChatRef("conference", conference.id)
    for n in range(5):
        await _say(store, ref, anna, f"m{n}")
    page = await store.page(ref, limit=2)
    assert [m.text for m in page.messages] == ["m3", "m4"] and page.more
    assert all(m.chat == ref for m in page.messages)
    page = await store.page(ref, limit=2, before=page.messages[0].id)
    assert [m.text for m in page.messages] == ["m1", "m2"] and page.more
    page = await store.page(ref, limit=2, before=page.messages[0].id)
    assert [m.text for m in page.messages] == ["m0"] and not page.more
    assert [m.text for m in (await store.page(ref, query="m3")).messages] == ["m3"]


async def test_search_sees_only_my_chats_and_takes_wildcards_literally(database: Database) -> None:
    anna, bob, carl = await _users(database, "anna", "bob", "carl")
    store = ChatStore(database.sessions)
    with_bob = ChatRef("chat", (await store.direct(anna, bob, direct_pair(anna, bob), NOW)).id)
    with_carl = ChatRef("chat", (await store.direct(anna, carl, direct_pair(anna, carl), NOW)).id)
    await _say(store, with_bob, anna, "Quarterly REPORT due")
    await _say(store, with_carl, carl, "report for carl only")
    await _say(store, with_bob, bob, "50% done_now")
    await _say(store, with_bob, bob, "500 done")

    assert [m.text for m in (await store.search_member_chats(bob, "report")).messages] == ["Quarterly REPORT due"]
    assert len((await store.search_member_chats(anna, "report")).messages) == 2
    assert [m.text for m in (await store.search_member_chats(bob, "0%")).messages] == ["50% done_now"]
    assert [m.text for m in (await store.search_member_chats(bob, "e_n")).messages] == ["50% done_now"]
    newest = await store.search_member_chats(anna, "o", limit=2)
    assert len(newest.messages) == 2 and newest.more


async def test_a_member_follows_only_his_chats(database: Database) -> None:
    anna, bob, carl = await _users(database, "anna", "bob", "carl")
    store = ChatStore(database.sessions)
    with_bob = ChatRef("chat", (await store.direct(anna, bob, direct_pair(anna, bob), NOW)).id)
    with_carl = ChatRef("chat", (await store.direct(anna, carl, direct_pair(anna, carl), NOW)).id)
    start = await store.newest_id()
    await _say(store, with_bob, anna, "for bob")
    await _say(store, with_carl, anna, "for carl")
    assert [m.text for m in await store.for_member_after(bob, start)] == ["for bob"]
    assert [m.text for m in await store.for_member_after(anna, start)] == ["for bob", "for carl"]
    assert await store.for_member_after(anna, await store.newest_id()) == []


async def test_an_attachment_is_kept_with_its_message(database: Database) -> None:
    anna, bob = await _users(database, "anna", "bob")
    store = ChatStore(database.sessions)
    chat = ChatRef("chat", (await store.direct(anna, bob, direct_pair(anna, bob), NOW)).id)
    file = Attachment(file_id="f" * 40, name="план.pdf", size=5 * 2**30, content_type="application/pdf")
    await _say(store, chat, anna, "", attachment=file)
    (message,) = (await store.page(chat)).messages
    assert message.attachment == file and message.text == ""


async def test_retention_covers_every_chat(database: Database) -> None:
    anna, bob = await _users(database, "anna", "bob")
    store = ChatStore(database.sessions)
    chat = ChatRef("chat", (await store.direct(anna, bob, direct_pair(anna, bob), NOW)).id)
    old = await store.add_message(
        chat, sender="user:1", sender_user_id=anna, display_name="A", text="old", now=NOW - timedelta(days=100)
    )
    assert old is not None
    await _say(store, chat, anna, "new")
    assert await ConferenceChatStore(database.sessions).delete_before(NOW - timedelta(days=90)) == 1
    assert [m.text for m in (await store.page(chat)).messages] == ["new"]


async def test_a_message_belongs_to_one_chat(database: Database) -> None:
    with pytest.raises(IntegrityError):
        async with database.sessions.begin() as session:
            session.add(ChatMessageRow(sender="x", display_name="x", text="nowhere", created_at=NOW))
