"""The call history between an app server and the base role over the bus, on SQLite and PostgreSQL: sessions
kept and resent until base acknowledges them, counted once, and closed when their server's death is known."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence

import pytest

from tests.app.test_conference_room import RecordedMember, ticket
from tests.storage.conftest import database  # noqa: F401 - the SQLite / PostgreSQL fixture
from tests.support.eventually import eventually
from veche.app.call_log_sender import CallLogSender
from veche.app.fake_engine import FakeMediaEngine
from veche.app.service import AppService
from veche.base.call_log import CallLog
from veche.bus.inproc import InProcessBus
from veche.bus.messages import ServerHeartbeat
from veche.domain.call_history import (
    CLOSED_BY_SERVER_DOWN,
    CallEntry,
    ClientKind,
    HistoryFilter,
    MediaCounters,
    SessionRecord,
)
from veche.domain.room import FeedSource
from veche.storage.call_history import CallHistoryStore
from veche.storage.database import Database

ALL = HistoryFilter()


class AppServer:
    def __init__(self, bus: InProcessBus, server_id: str = "app-1") -> None:
        self.engine = FakeMediaEngine()
        self.sender = CallLogSender(bus, self.engine, server_id=server_id, retry_s=0.05, sample_s=0.05)
        self.service = AppService(self.engine, bus, server_id=server_id, bitrate_bps=1_000_000, call_log=self.sender)

    async def join(self, identity: str) -> str:
        t = ticket(identity)
        room = self.service.room_for(t)
        snapshot = await room.join(t, RecordedMember())
        await self.service.joined(room, snapshot.you.id, t.identity, user_agent="Mozilla/5.0 (X11)")
        return snapshot.you.id

    async def leave(self, participant_id: str) -> None:
        room = self.service.room_for(ticket("user:0"))
        await self.service.left(room, participant_id)


@pytest.fixture
async def bus() -> AsyncIterator[InProcessBus]:
    bus = InProcessBus("app-1")
    yield bus
    await bus.close()


@pytest.fixture
async def app(bus: InProcessBus) -> AsyncIterator[AppServer]:
    server = AppServer(bus)
    await server.service.start()
    yield server
    await server.service.stop()


@pytest.fixture
def store(database: Database) -> CallHistoryStore:  # noqa: F811
    return CallHistoryStore(database.sessions)


async def calls(store: CallHistoryStore) -> list[CallEntry]:
    return (await store.list_calls(ALL, limit=100, offset=0)).calls


async def test_sessions_wait_for_a_base_that_is_away_and_arrive_once(
    bus: InProcessBus, app: AppServer, store: CallHistoryStore
) -> None:
    anna = await app.join("user:1")
    boris = await app.join("user:2")
    await app.leave(boris)
    assert app.sender.pending == 2  # nobody answers RecordCallSessions yet
    CallLog(bus, store)  # the base role comes up
    await eventually(lambda: _async(app.sender.pending), lambda n: n == 0, timeout=10, interval=0.02, what="delivery")
    (call,) = await calls(store)
    assert [p.display_name for p in call.participants] == ["1", "2"]
    assert [p.left_at_ms is None for p in call.participants] == [True, False]
    assert {p.kind for p in call.participants} == {"browser"}
    await app.leave(anna)
    await eventually(lambda: calls(store), lambda c: c[0].ended_at_ms is not None, timeout=10, interval=0.02)


class LosesAcknowledgements(CallHistoryStore):
    """Stores each batch, then fails as a base killed before it answered would: the app server sends it again."""

    def __init__(self, store: CallHistoryStore, failures: int) -> None:
        self.__dict__.update(store.__dict__)
        self.failures = failures
        self.batches = 0

    async def record(
        self, server_id: str, incarnation: str, started_at_ms: int, records: Sequence[SessionRecord]
    ) -> None:
        await super().record(server_id, incarnation, started_at_ms, records)
        self.batches += 1
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("killed before the acknowledgement")


async def test_a_batch_stored_but_not_acknowledged_is_resent_and_counted_once(
    bus: InProcessBus, app: AppServer, store: CallHistoryStore
) -> None:
    flaky = LosesAcknowledgements(store, failures=3)
    CallLog(bus, flaky)
    people = [await app.join(f"user:{n}") for n in range(1, 4)]
    for participant in people:
        await app.leave(participant)
    await eventually(lambda: _async(app.sender.pending), lambda n: n == 0, timeout=10, interval=0.02, what="delivery")
    assert flaky.batches > 3  # the same sessions arrived several times
    (call,) = await calls(store)
    assert len(call.participants) == 3 and call.ended_at_ms is not None
    assert all(p.left_at_ms is not None for p in call.participants)


async def test_a_stopping_app_server_closes_its_sessions_and_hands_them_over(
    bus: InProcessBus, store: CallHistoryStore
) -> None:
    CallLog(bus, store)
    server = AppServer(bus, "app-2")
    await server.service.start()
    await server.join("user:1")
    await server.service.stop()
    assert server.sender.pending == 0
    (call,) = await calls(store)
    assert call.ended_at_ms is not None and call.participants[0].closed_by == "app"


def heartbeat(server_id: str) -> ServerHeartbeat:
    return ServerHeartbeat(server_id=server_id, roles=["base"], software_version="t", host="h", pid=1, sent_at=0.0)


async def test_base_closes_the_sessions_of_a_server_once_its_death_is_known(
    bus: InProcessBus, app: AppServer, store: CallHistoryStore
) -> None:
    now = [time.time() * 1000]
    log = CallLog(bus, store, clock_ms=lambda: int(now[0]))
    await app.join("user:1")
    await eventually(lambda: _async(app.sender.pending), lambda n: n == 0, timeout=10, interval=0.02, what="delivery")

    async def beat(*servers: str) -> None:
        for server in servers:
            await bus.publish(heartbeat(server))
        heard = [int(now[0])] * len(servers)
        await eventually(lambda: _async([log.last_heard_ms(s) for s in servers]), lambda t: t == heard, timeout=5)

    await beat("base-1", "app-1")
    now[0] += 2000
    await beat("base-1")
    assert await log.sweep() == []  # app-1 was heard 2 s ago
    now[0] += 1500
    await beat("base-1")  # base still hears the cluster, but not app-1 for 3.5 s
    assert await log.sweep() == ["app-1"]
    (call,) = await calls(store)
    assert call.participants[0].closed_by == CLOSED_BY_SERVER_DOWN
    assert call.participants[0].left_at_ms == int(now[0]) and call.ended_at_ms == int(now[0])


async def test_media_figures_reach_base_while_the_call_runs_and_a_leave_reads_what_goes_with_it(
    bus: InProcessBus, app: AppServer, store: CallHistoryStore
) -> None:
    now = [100.0]
    app.engine.clock_s = lambda: now[0]  # the in-memory engine's media: 800 kbit/s from publish on
    CallLog(bus, store)
    anna = await app.join("user:1")
    boris = await app.join("user:2")
    room = app.service.room_for(ticket("user:0"))
    feed, _ = await room.publish(anna, FeedSource.CAMERA, "v=0 offer")
    await room.subscribe(boris, feed)
    now[0] += 10.0

    async def figures() -> dict[str, MediaCounters]:
        found = await calls(store)
        return {p.display_name: p.media for p in found[0].participants} if found else {}

    running = await eventually(figures, lambda f: f.get("1", MediaCounters()).bytes_in == 1_000_000, timeout=10)
    assert running["2"].bytes_out == 1_000_000  # stored while both are still in the call
    now[0] += 10.0
    await app.leave(anna)  # her feed goes, and Boris's subscription to it: read as she leaves
    await app.leave(boris)
    await eventually(lambda: _async(app.sender.pending), lambda n: n == 0, timeout=10, interval=0.02)
    final = await figures()
    assert final["1"] == MediaCounters(bytes_in=2_000_000, packets_in=1980, lost_in=20)
    assert final["2"] == MediaCounters(bytes_out=2_000_000, packets_out=1980, lost_out=20)


async def test_base_deletes_calls_older_than_the_retention(bus: InProcessBus, store: CallHistoryStore) -> None:
    day = 86_400_000
    now = [1_800_000_000_000]
    log = CallLog(bus, store, clock_ms=lambda: now[0], retention_days=30)
    old = SessionRecord(
        "a", 1, "c", "user:1", "A", False, ClientKind.API, "", "app-1", now[0] - 40 * day, now[0] - 31 * day, 1
    )
    new = SessionRecord(
        "b", 1, "c", "user:1", "A", False, ClientKind.API, "", "app-1", now[0] - 2 * day, now[0] - day, 1
    )
    await store.record("app-1", "i", now[0], [old, new])
    assert await log.purge() == 1
    assert [c.participants[0].session_id for c in await calls(store)] == ["b"]
    assert await CallLog(bus, store, clock_ms=lambda: now[0]).purge() == 0  # kept for good by default


async def _async(value: object) -> object:
    return value
