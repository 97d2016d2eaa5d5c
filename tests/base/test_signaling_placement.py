"""Where a conference's clients connect: placement on first join, stickiness, spreading, failover."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.eventually import eventually
from veche.base.signaling_placement import PlacementJanitor, SignalingPlacement
from veche.bus.inproc import InProcessBus
from veche.bus.messages import ConferenceEnded, ConferenceMoved, ServerHeartbeat
from veche.domain.errors import Unavailable
from veche.domain.model import Conference, ConferenceAccess, ConferenceType
from veche.manager.registry import ServerRegistry
from veche.storage.cluster import PlacementStore
from veche.storage.database import Database

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def conference(cid: int) -> Conference:
    return Conference(
        id=cid,
        name=f"c{cid}",
        owner_id=1,
        type=ConferenceType.ALL_SEE_ALL,
        max_participants=10,
        guests_allowed=False,
        access=ConferenceAccess.OPEN,
        invite_code=f"i{cid}",
        created_at=NOW,
    )


class Cluster:
    def __init__(
        self, bus: InProcessBus, placement: SignalingPlacement, store: PlacementStore, clock: list[float]
    ) -> None:
        self.bus, self.placement, self.store, self.clock = bus, placement, store, clock

    async def beat(self, server_id: str, state: str = "up", participants: int = 0) -> None:
        await self.bus.publish(
            ServerHeartbeat(
                server_id=server_id,
                roles=["app"],
                software_version="0",
                host="h",
                pid=1,
                sent_at=self.clock[0],
                state=state,
                signaling_url=f"ws://{server_id}/ws/v1",
                participants=participants,
                max_participants=100,
            )
        )
        # The registry stamps a heartbeat with its clock when it hears it: heard now, before the clock moves on.
        await self.bus.wait_delivered()


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    await db.migrate()
    clock = [1000.0]
    bus = InProcessBus("web-1")
    registry = ServerRegistry(bus, clock_s=lambda: clock[0])
    store = PlacementStore(db.sessions)
    placement = SignalingPlacement(registry, store, bus, lambda: NOW, clock_s=lambda: clock[0])
    yield Cluster(bus, placement, store, clock)
    await db.close()


async def test_first_join_places_later_joins_stick(cluster: Cluster) -> None:
    await cluster.beat("a")
    await cluster.beat("b", participants=50)
    first = await cluster.placement.target_for(conference(1))
    assert (first.server_id, first.signaling_url) == ("a", "ws://a/ws/v1")
    await cluster.beat("a", participants=90)  # now a is the fuller one, but the conference stays
    assert (await cluster.placement.target_for(conference(1))).server_id == "a"


async def test_a_burst_of_new_conferences_spreads(cluster: Cluster) -> None:
    for server in ("a", "b", "c"):
        await cluster.beat(server)
    placed = [(await cluster.placement.target_for(conference(i))).server_id for i in range(6)]
    assert sorted(placed) == ["a", "a", "b", "b", "c", "c"]


async def test_draining_and_pending_servers_get_nothing_new(cluster: Cluster) -> None:
    await cluster.beat("a", state="draining")
    await cluster.beat("b", state="pending")
    with pytest.raises(Unavailable, match="1 draining, 1 pending"):
        await cluster.placement.target_for(conference(1))
    await cluster.beat("c")
    assert (await cluster.placement.target_for(conference(1))).server_id == "c"


async def test_dead_server_loses_its_conferences(cluster: Cluster) -> None:
    announced: list[ConferenceMoved] = []

    async def heard(message: ConferenceMoved) -> None:
        announced.append(message)

    cluster.bus.subscribe(ConferenceMoved, heard)
    await cluster.beat("a")
    await cluster.beat("b", participants=10)
    assert (await cluster.placement.target_for(conference(1))).server_id == "a"
    # A client says a failed; a does not answer the ping (it is not on this bus): the conference moves.
    moved = await cluster.placement.target_for(conference(1), failed_server="a")
    assert moved.server_id == "b"
    await cluster.bus.wait_delivered()
    assert [(m.conference_id, m.from_server, m.to_server, m.epoch) for m in announced] == [(1, "a", "b", moved.epoch)]
    # Heartbeats stop: after 3 s a is down in the view and the next join goes elsewhere too.
    cluster.clock[0] += 3.5
    await cluster.beat("b", participants=10)
    assert (await cluster.placement.target_for(conference(1))).server_id == "b"


async def test_without_any_heartbeats_the_recorded_placement_is_trusted(cluster: Cluster) -> None:
    await cluster.beat("a")
    assert (await cluster.placement.target_for(conference(1))).server_id == "a"
    cluster.clock[0] += 60  # the bus is away: nobody is heard
    assert (await cluster.placement.target_for(conference(1))).server_id == "a"


async def test_an_ended_conference_is_placed_afresh(cluster: Cluster) -> None:
    PlacementJanitor(cluster.bus, cluster.store)
    await cluster.beat("a")
    await cluster.beat("b", participants=50)
    assert (await cluster.placement.target_for(conference(1))).server_id == "a"
    await cluster.beat("a", participants=90)
    await cluster.bus.publish(ConferenceEnded(server_id="b", conference_id=1))  # not where it runs: ignored
    await cluster.bus.wait_delivered()
    assert (await cluster.placement.target_for(conference(1))).server_id == "a"
    await cluster.bus.publish(ConferenceEnded(server_id="a", conference_id=1))
    await eventually(
        lambda: cluster.store.get(1), lambda placed: placed is None, timeout=5, interval=0.01, what="forgotten"
    )
    assert (await cluster.placement.target_for(conference(1))).server_id == "b"
