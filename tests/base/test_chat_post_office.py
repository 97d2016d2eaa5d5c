"""The base role's post office: what waits is stored together and in order, a non-member's post is refused, and
storing a direct/group chat message runs the retention purge (messages of every chat, not only conferences')."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.eventually import eventually
from veche.base.chat_archive import ChatArchive
from veche.base.chats.post_office import ChatPostOffice
from veche.bus.chat_messages import ChatMessageStored, PostChatMessage
from veche.bus.inproc import InProcessBus
from veche.domain.chat_access import ChatRef
from veche.domain.chat_rules import direct_pair
from veche.domain.notifications import Notice
from veche.storage.chats import ChatStore
from veche.storage.conferences import ChatStore as ConferenceChatStore
from veche.storage.database import Database
from veche.storage.users import UserStore

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


async def _setup(tmp_path: Path) -> tuple[Database, InProcessBus, ChatStore, int, int, int]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'veche.db'}")
    await database.migrate()
    users = UserStore(database.sessions)
    anna, bob = [
        (await users.create(login=n, display_name=n, email="", password_hash="h", is_admin=False, now=NOW)).id
        for n in ("anna", "bob")
    ]
    store = ChatStore(database.sessions)
    chat = await store.direct(anna, bob, direct_pair(anna, bob), NOW)
    return database, InProcessBus("one"), store, anna, bob, chat.id


def _post(chat_id: int, sender: int, text: str) -> PostChatMessage:
    return PostChatMessage(
        chat=f"chat:{chat_id}", sender=f"user:{sender}", sender_user_id=sender, display_name="X", text=text
    )


async def test_posts_at_once_are_stored_in_order_and_announced_in_order(tmp_path: Path) -> None:
    database, bus, store, anna, bob, chat_id = await _setup(tmp_path)
    announced: list[ChatMessageStored] = []

    async def heard(event: ChatMessageStored) -> None:
        announced.append(event)

    bus.subscribe(ChatMessageStored, heard)
    ChatPostOffice(bus, store, clock=lambda: NOW)
    try:
        answers = await asyncio.gather(*(bus.request(_post(chat_id, anna, f"m{n}")) for n in range(30)))
        assert all(a.ok for a in answers)
        ids = [a.message.id for a in answers if a.message]
        assert ids == sorted(ids) and len(set(ids)) == 30
        refused = await bus.request(_post(chat_id, 987, "not a member"))
        assert not refused.ok and refused.code == "not_found"
        blank = await bus.request(_post(chat_id, bob, "   "))
        assert not blank.ok and blank.code == "invalid_input"

        async def heard_so_far() -> int:
            return len(announced)

        await eventually(heard_so_far, lambda n: n >= 30, what="30 messages announced")
        assert [e.message.id for e in announced] == ids
        assert all(sorted(e.member_ids) == sorted([anna, bob]) for e in announced)
    finally:
        await bus.close()
        await database.close()


async def test_storing_a_chat_message_purges_old_messages_of_every_chat(tmp_path: Path) -> None:
    database, bus, store, anna, _, chat_id = await _setup(tmp_path)
    old = await store.add_message(
        ChatRef("chat", chat_id),
        sender="u",
        sender_user_id=anna,
        display_name="A",
        text="old",
        now=NOW - timedelta(days=100),
    )
    assert old is not None
    archive = ChatArchive(bus, ConferenceChatStore(database.sessions), retention=timedelta(days=90), clock=lambda: NOW)
    ChatPostOffice(bus, store, clock=lambda: NOW, after_storing=archive.purge_if_due)
    try:
        assert (await bus.request(_post(chat_id, anna, "new"))).ok
        # The purge runs right after the batch is stored, once its answers are out: wait for it, do not race it.
        await eventually(
            lambda: store.page(ChatRef("chat", chat_id)),
            lambda page: [m.text for m in page.messages] == ["new"],
            what="the 100-day-old message purged, the new one kept",
        )
    finally:
        await bus.close()
        await database.close()


class ListNotifier:
    def __init__(self) -> None:
        self.notices: list[Notice] = []

    async def notify(self, notices: Sequence[Notice]) -> None:
        self.notices.extend(notices)


async def test_the_other_member_gets_a_notice_of_each_message_and_the_sender_none(tmp_path: Path) -> None:
    database, bus, store, anna, bob, chat_id = await _setup(tmp_path)
    notifier = ListNotifier()
    ChatPostOffice(bus, store, clock=lambda: NOW, notifier=notifier)
    try:
        long_text = "x" * 300
        for text in ("Are you coming?", long_text):
            assert (await bus.request(_post(chat_id, anna, text))).ok
        [first, second] = notifier.notices
        assert (first.user_id, first.kind, first.body, first.url) == (
            bob,
            "message",
            "Are you coming?",
            f"/chats?chat={chat_id}",
        )
        assert len(second.body) == 140 and second.body.endswith("…") and first.key != second.key
        assert (await bus.request(_post(chat_id, bob, "Yes"))).ok
        assert notifier.notices[-1].user_id == anna
    finally:
        await bus.close()
        await database.close()
