"""Chat messages posted on one server reach the members' open streams on another, over both buses: the base role
stores a message (ChatPostOffice), announces it, and the web role hands it to its members' streams
(ChatDelivery); a stream that missed messages catches up from the database. Also the wire form of the messages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.eventually import eventually
from veche.base.chats.delivery import ChatDelivery
from veche.base.chats.post_office import ChatPostOffice
from veche.bus.base import Bus
from veche.bus.chat_messages import ChatFile, ChatMessageStored, ChatPostResult, PostChatMessage, StoredChatMessage
from veche.bus.envelope import decode_message, encode_message
from veche.bus.inproc import InProcessBus
from veche.bus.messages import BusMessage
from veche.bus.nats import NatsBus
from veche.dev.nats import ThrowawayNats
from veche.domain.chat_access import ChatRef
from veche.domain.chat_rules import direct_pair
from veche.storage.chats import ChatStore, StoredMessage
from veche.storage.database import Database
from veche.storage.users import UserStore

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

SAMPLE_MESSAGE = StoredChatMessage(
    id=7,
    chat="chat:3",
    sender="user:5",
    sender_user_id=5,
    display_name="Анна",
    text="смотри файл",
    ts="2026-12-03T12:00:00.000+00:00",
    attachment=ChatFile(file_id="f-9", name="план.pdf", size=1234, content_type="application/pdf"),
)
SAMPLES: list[BusMessage] = [
    PostChatMessage(chat="chat:3", sender="user:5", sender_user_id=5, display_name="Анна", text="привет"),
    ChatPostResult(ok=True, message=SAMPLE_MESSAGE),
    ChatMessageStored(message=SAMPLE_MESSAGE, member_ids=[5, 6]),
]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda m: type(m).__name__)
def test_chat_messages_round_trip_through_json(sample: BusMessage) -> None:
    assert decode_message(encode_message(sample), type(sample)) == sample


@dataclass
class Cluster:
    base: Bus
    web: Bus
    store: ChatStore
    delivery: ChatDelivery
    anna: int
    bob: int
    eve: int
    chat_id: int


Buses = Callable[[], Awaitable[tuple[Bus, Bus]]]


@pytest.fixture(params=["inproc", "nats"])
async def buses(request: pytest.FixtureRequest) -> AsyncIterator[Buses]:
    opened: list[Bus] = []

    async def make() -> tuple[Bus, Bus]:
        if request.param == "inproc":
            bus = InProcessBus("one")
            opened.append(bus)
            return bus, bus
        server: ThrowawayNats = request.getfixturevalue("nats_server")
        base = await NatsBus.connect(server.url, server_id="base-1", reconnect_wait_s=0.1, first_connect_wait_s=5)
        web = await NatsBus.connect(server.url, server_id="web-1", reconnect_wait_s=0.1, first_connect_wait_s=5)
        opened.extend([base, web])
        return base, web

    yield make
    for bus in opened:
        await bus.close()


@pytest.fixture
async def cluster(buses: Buses, tmp_path: Path) -> AsyncIterator[Cluster]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'veche.db'}")
    await database.migrate()
    users = UserStore(database.sessions)
    ids = [
        (await users.create(login=n, display_name=n.title(), email="", password_hash="h", is_admin=False, now=NOW)).id
        for n in ("anna", "bob", "eve")
    ]
    base, web = await buses()
    store = ChatStore(database.sessions)
    ChatPostOffice(base, store, clock=lambda: NOW)
    delivery = ChatDelivery(web, store)
    for bus in (base, web):
        if isinstance(bus, NatsBus):
            await bus.flush()
    chat = await store.direct(ids[0], ids[1], direct_pair(ids[0], ids[1]), NOW)
    try:
        yield Cluster(base, web, store, delivery, ids[0], ids[1], ids[2], chat.id)
    finally:
        delivery.close()
        await database.close()


class Follower:
    """One open page's stream, collecting what it gets."""

    def __init__(self, delivery: ChatDelivery, user_id: int, after: int | None = None) -> None:
        self.got: list[StoredMessage] = []
        self._task = asyncio.create_task(self._run(delivery, user_id, after))

    async def _run(self, delivery: ChatDelivery, user_id: int, after: int | None) -> None:
        async for message in delivery.follow(user_id, after, wait_s=30):
            self.got.append(message)

    async def texts(self, count: int) -> list[str]:
        async def probe() -> list[str]:
            return [m.text for m in self.got]

        return await eventually(probe, lambda t: len(t) >= count, timeout=10, interval=0.02, what="messages")

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def _post(cluster: Cluster, sender: int, text: str, chat: str | None = None) -> ChatPostResult:
    return await cluster.web.request(
        PostChatMessage(
            chat=chat or f"chat:{cluster.chat_id}",
            sender=f"user:{sender}",
            sender_user_id=sender,
            display_name="Someone",
            text=text,
        )
    )


async def _following(cluster: Cluster) -> None:
    async def probe() -> bool:
        return cluster.delivery.followers > 0

    await eventually(probe, bool, timeout=5, interval=0.01, what="the stream listening")


async def test_a_message_reaches_the_members_streams_and_nobody_else(cluster: Cluster) -> None:
    bob, eve = Follower(cluster.delivery, cluster.bob), Follower(cluster.delivery, cluster.eve)
    await _following(cluster)
    try:
        answer = await _post(cluster, cluster.anna, "over the bus")
        assert answer.ok and answer.message is not None and answer.message.text == "over the bus"
        assert await bob.texts(1) == ["over the bus"]
        await _post(cluster, cluster.anna, "second")
        assert await bob.texts(2) == ["over the bus", "second"]
        assert eve.got == []
    finally:
        await bob.stop()
        await eve.stop()


async def test_a_non_member_cannot_post(cluster: Cluster) -> None:
    answer = await _post(cluster, cluster.eve, "let me in")
    assert not answer.ok and answer.code == "not_found"
    assert (await cluster.store.page(ChatRef("chat", cluster.chat_id))).messages == []


async def test_a_stream_that_missed_messages_catches_up_from_the_database(cluster: Cluster) -> None:
    first = await _post(cluster, cluster.anna, "seen")
    assert first.message is not None
    await _post(cluster, cluster.anna, "missed 1")
    await _post(cluster, cluster.bob, "missed 2")
    bob = Follower(cluster.delivery, cluster.bob, after=first.message.id)
    try:
        assert await bob.texts(2) == ["missed 1", "missed 2"]
        await _following(cluster)
        await _post(cluster, cluster.anna, "live")
        assert await bob.texts(3) == ["missed 1", "missed 2", "live"]
    finally:
        await bob.stop()
