"""The bus on a three-node NATS cluster: every node reaches every subscriber, a client whose node dies moves to
another by itself, and a request caught by the crash fails at once with a clear error instead of hanging."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.eventually import eventually
from veche.bus.messages import BusMessage, CommandResult, ListParticipants, ParticipantList
from veche.bus.nats import BusDisconnected, NatsBus
from veche.dev.nats import NatsUnavailable, ThrowawayNatsCluster
from veche.manager.components import probe_nats


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


async def _connect(servers: str | list[str], made: list[NatsBus], server_id: str | None = None) -> NatsBus:
    bus = await NatsBus.connect(servers, server_id=server_id, reconnect_wait_s=0.1, ping_interval_s=1)
    made.append(bus)
    assert bus.is_connected
    return bus


def _node_of(cluster: ThrowawayNatsCluster, bus: NatsBus) -> int:
    return [url.removeprefix("nats://") for url in cluster.urls].index(bus.connected_server or "")


async def _answers(bus: NatsBus) -> bool:
    try:
        return await bus.request(ListParticipants(conference_id=1), timeout_s=1) == ParticipantList(participants=[])
    except Exception:
        return False


async def test_clients_on_different_nodes_talk_and_move_when_their_node_dies(
    nats_cluster: ThrowawayNatsCluster, buses: list[NatsBus]
) -> None:
    # Each given one node only: the cluster tells them of the others.
    sender = await _connect(nats_cluster.urls[0], buses)
    receiver = await _connect(nats_cluster.urls[1], buses, "app-1")
    assert sorted(sender.known_servers) == sorted(url.removeprefix("nats://") for url in nats_cluster.urls)
    received: list[str] = []

    async def collect(m: CommandResult) -> None:
        received.append(m.message)

    async def answer(_m: ListParticipants) -> BusMessage | None:
        return ParticipantList(participants=[])

    receiver.subscribe(CommandResult, collect)
    receiver.handle(ListParticipants, answer)
    await receiver.flush()
    await eventually(lambda: _answers(sender), bool, what="a request across the route")

    nats_cluster.kill(0)  # the sender's node
    await eventually(lambda: _connected_elsewhere(sender, nats_cluster), bool, what="the sender on another node")
    await eventually(lambda: _answers(sender), bool, what="requests going on after the node died")
    await sender.publish(CommandResult(ok=True, message="after the crash"))

    async def got_it() -> bool:
        return "after the crash" in received

    await eventually(got_it, bool, what="the event sent after the crash")

    nats_cluster.restart(0)
    nats_cluster.kill(1)  # now the receiver's node: its subscriptions and handler come back on another
    await eventually(lambda: _connected_elsewhere(receiver, nats_cluster, dead=1), bool, what="the receiver moved")
    await eventually(lambda: _answers(sender), bool, what="the handler reachable again")
    assert await sender.request_to("app-1", ListParticipants(conference_id=1)) == ParticipantList(participants=[])


async def test_a_request_caught_by_the_crash_fails_cleanly(
    nats_cluster: ThrowawayNatsCluster, buses: list[NatsBus]
) -> None:
    sender = await _connect(nats_cluster.url, buses)
    receiver = await _connect(nats_cluster.url, buses, "app-1")
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(_m: ListParticipants) -> BusMessage | None:
        started.set()
        await release.wait()
        return ParticipantList(participants=[])

    receiver.handle(ListParticipants, slow)
    await receiver.flush()

    async def sent() -> asyncio.Task[BusMessage] | None:
        """The slow request, once the receiver's interest has crossed the route (until then: no responders)."""
        request = asyncio.create_task(sender.request(ListParticipants(conference_id=1), timeout_s=120))
        waiter = asyncio.create_task(started.wait())
        done, _ = await asyncio.wait({request, waiter}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        if waiter in done:
            return request
        waiter.cancel()
        request.cancel()
        await asyncio.gather(request, waiter, return_exceptions=True)
        return None

    request = await eventually(sent, lambda r: r is not None, what="the request at the receiver")
    assert request is not None
    nats_cluster.kill(_node_of(nats_cluster, sender))
    # Not a NoResponder after 120 s: the bus knows the answer cannot come on this connection.
    with pytest.raises(BusDisconnected):
        await request
    release.set()
    await eventually(lambda: _connected_elsewhere(sender, nats_cluster), bool, what="the sender reconnected")
    assert await sender.request(ListParticipants(conference_id=1), timeout_s=10) == ParticipantList(participants=[])


async def _connected_elsewhere(bus: NatsBus, cluster: ThrowawayNatsCluster, dead: int | None = None) -> bool:
    if not bus.is_connected:
        return False
    node = _node_of(cluster, bus)
    return cluster.alive(node) and node != dead


async def test_the_components_view_finds_each_node_and_its_routes(
    nats_cluster: ThrowawayNatsCluster, buses: list[NatsBus]
) -> None:
    bus = await _connect(nats_cluster.urls[0], buses)
    addresses = [url.removeprefix("nats://") for url in nats_cluster.urls]

    async def monitored() -> dict[str, tuple[str, bool, int | None]]:
        nodes = await probe_nats(bus, nats_cluster.monitor_urls)
        return {n.address: (n.name, n.listening, n.routes) for n in nodes}

    assert await monitored() == {a: (f"nats-{i + 1}", True, 2) for i, a in enumerate(addresses)}
    nats_cluster.kill(2)
    expected = {addresses[0]: ("nats-1", True, 1), addresses[1]: ("nats-2", True, 1), addresses[2]: ("", False, None)}
    await eventually(monitored, lambda found: found == expected, what="node 3 down, the others with one route")
    probed = {n.address: n.listening for n in await probe_nats(bus, [])}  # no monitoring ports: connecting
    assert probed == {addresses[0]: True, addresses[1]: True, addresses[2]: False}
