"""The conference chat archive is acknowledged: an app server keeps each post until a base server says it is
stored, and two base servers store it once. Posts said while no base server answers, or while the app server's NATS
node is killed and it moves to another, are all in the history afterwards, each once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.storage.conftest import database  # noqa: F401 - the SQLite and PostgreSQL fixture
from tests.storage.test_chat_retention import _conference
from tests.support.eventually import eventually
from veche.app.chat_archive_sender import ChatArchiveSender
from veche.base.chat_archive import ChatArchive
from veche.base.work_once import WorkOnce
from veche.bus.archive_messages import ArchiveChatPost
from veche.bus.base import Bus
from veche.bus.inproc import InProcessBus
from veche.bus.nats import NatsBus
from veche.dev.nats import NatsUnavailable, ThrowawayNatsCluster
from veche.domain.clock import utc_now
from veche.domain.room import ChatEntry
from veche.storage.chat_posts import ConferenceChatPosts
from veche.storage.conferences import ChatStore
from veche.storage.database import Database
from veche.storage.work_claims import WorkClaimStore

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def base_server(bus: Bus, db: Database, name: str) -> ChatArchive:
    once = WorkOnce(WorkClaimStore(db.sessions), name, utc_now)
    return ChatArchive(bus, ChatStore(db.sessions), once=once, posts=ConferenceChatPosts(db.sessions))


def said(n: int) -> ChatEntry:
    return ChatEntry(sender="p1", display_name="Ann", text=f"message {n}", ts=(T0 + timedelta(seconds=n)).isoformat())


async def history(db: Database, conference: int) -> list[str]:
    return [e.text for e in await ChatStore(db.sessions).recent(conference, 1000)]


async def test_a_post_sent_again_is_stored_once_and_acknowledged_again(database: Database) -> None:  # noqa: F811
    conference = await _conference(database, "resend")
    bus = InProcessBus("app-1")
    try:
        for name in ("base-1", "base-2"):
            base_server(bus, database, name)
        entry = said(1)
        post = ArchiveChatPost(post_id="p-1", conference_id=conference, **vars(entry))
        first = await bus.request(post)
        again = await bus.request(post)  # its acknowledgement was lost: the app server sends it again
        assert first.ok and again.ok
        assert await history(database, conference) == ["message 1"]
    finally:
        await bus.close()


async def test_posts_said_while_no_base_server_answers_are_stored_once_it_does(database: Database) -> None:  # noqa: F811
    conference = await _conference(database, "late-base")
    bus = InProcessBus("app-1")
    sender = ChatArchiveSender(bus, retry_s=0.05)
    try:
        for n in range(1, 6):
            await sender.post(conference, said(n))
        await eventually(lambda: asyncio.sleep(0, sender.pending), lambda n: n == 5, what="the posts kept")
        for name in ("base-1", "base-2"):  # base servers come (back)
            base_server(bus, database, name)
        await eventually(lambda: asyncio.sleep(0, sender.pending), lambda n: n == 0, what="the posts acknowledged")
        assert await history(database, conference) == [f"message {n}" for n in range(1, 6)]
    finally:
        await sender.stop()
        await bus.close()


@pytest.fixture
def nats_cluster() -> Iterator[ThrowawayNatsCluster]:
    try:
        cluster = ThrowawayNatsCluster.start()
    except NatsUnavailable as exc:
        pytest.skip(f"no throwaway NATS: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def buses() -> AsyncIterator[list[NatsBus]]:
    made: list[NatsBus] = []
    yield made
    for bus in made:
        await bus.close()


async def test_posts_said_while_the_app_servers_nats_node_dies_are_all_stored_once(
    database: Database,  # noqa: F811
    nats_cluster: ThrowawayNatsCluster,
    buses: list[NatsBus],
) -> None:
    conference = await _conference(database, "nats-node-dies")
    app_bus = await NatsBus.connect(nats_cluster.urls, server_id="app-1", reconnect_wait_s=0.1, ping_interval_s=1)
    buses.append(app_bus)
    node = [u.removeprefix("nats://") for u in nats_cluster.urls].index(app_bus.connected_server or "")
    others = [url for i, url in enumerate(nats_cluster.urls) if i != node]
    for i, name in enumerate(("base-1", "base-2")):  # the base servers on the nodes that stay
        base_bus = await NatsBus.connect(others[i], server_id=name, reconnect_wait_s=0.1, ping_interval_s=1)
        buses.append(base_bus)
        base_server(base_bus, database, name)
        await base_bus.flush()
    sender = ChatArchiveSender(app_bus, retry_s=0.1)
    try:
        for n in range(1, 61):
            if n == 21:
                nats_cluster.kill(node)  # the app server's node crashes while people chat
            await sender.post(conference, said(n))
            await asyncio.sleep(0.02)
        await eventually(
            lambda: asyncio.sleep(0, sender.pending), lambda n: n == 0, timeout=30, what="every post acknowledged"
        )
        assert await history(database, conference) == [f"message {n}" for n in range(1, 61)]
        assert app_bus.connected_server != nats_cluster.urls[node].removeprefix("nats://")
    finally:
        await sender.stop()
