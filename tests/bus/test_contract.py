"""The bus contract (veche/bus/base.py): every test runs against the in-process bus and against NATS.

``requester`` and ``server`` are two processes on NATS (two connections) and the one process of `veche up` on
the in-process bus, which is then the server ``app-1`` itself: what a test shows holds on both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import pytest

from tests.support.eventually import eventually
from veche.bus.base import Bus, BusError, NoResponder, UnexpectedReply
from veche.bus.inproc import InProcessBus
from veche.bus.messages import (
    BusMessage,
    CommandResult,
    ListParticipants,
    ParticipantList,
    Ping,
    StartDirectorySync,
)
from veche.bus.nats import NatsBus
from veche.dev.nats import ThrowawayNats
from veche.metrics import bus_metrics

T = TypeVar("T")
SERVER = "app-1"


@dataclass
class Cluster:
    """The buses of one test: ``server`` is addressable as ``app-1``."""

    requester: Bus
    server: Bus
    _nats: list[NatsBus] = field(default_factory=list)

    async def ready(self) -> None:
        """Wait until the subscriptions and handlers made so far are live (NATS sets them up in the background)."""
        for bus in self._nats:
            await bus.flush()


@pytest.fixture(params=["in-process", "nats"])
async def cluster(request: pytest.FixtureRequest) -> AsyncIterator[Cluster]:
    if request.param == "in-process":
        bus = InProcessBus(SERVER)
        yield Cluster(requester=bus, server=bus)
        await bus.close()
        return
    nats_server: ThrowawayNats = request.getfixturevalue("nats_server")
    requester = await NatsBus.connect(nats_server.url, reconnect_wait_s=0.1)
    server = await NatsBus.connect(nats_server.url, server_id=SERVER, reconnect_wait_s=0.1)
    yield Cluster(requester=requester, server=server, _nats=[requester, server])
    await requester.close()
    await server.close()


def snapshot(items: list[T]) -> Callable[[], Awaitable[list[T]]]:
    async def probe() -> list[T]:
        return list(items)

    return probe


async def wait_for_items(items: list[T], expected: list[T], what: str) -> None:
    await eventually(snapshot(items), lambda now: now == expected, timeout=5, interval=0.01, what=what)


def collector(into: list[str]) -> Callable[[CommandResult], Awaitable[None]]:
    async def collect(message: CommandResult) -> None:
        into.append(message.message)

    return collect


class NewerCommandResult(CommandResult):
    """CommandResult as a later version might send it: same subject, one more field."""

    priority: int = 0


class NewerPing(Ping):
    origin: str = ""


# -- events ---------------------------------------------------------------------------------------------------


async def test_an_event_reaches_every_subscriber(cluster: Cluster) -> None:
    first: list[str] = []
    second: list[str] = []
    elsewhere: list[str] = []
    cluster.server.subscribe(CommandResult, collector(first))
    cluster.server.subscribe(CommandResult, collector(second))
    cluster.requester.subscribe(CommandResult, collector(elsewhere))
    await cluster.ready()
    await cluster.requester.publish(CommandResult(ok=True, message="hello"))
    for seen in (first, second, elsewhere):
        await wait_for_items(seen, ["hello"], "the event at every subscriber")


async def test_each_subscriber_gets_events_in_publish_order(cluster: Cluster) -> None:
    seen: list[str] = []
    cluster.server.subscribe(CommandResult, collector(seen))
    await cluster.ready()
    sent = [str(i) for i in range(50)]
    for text in sent:
        await cluster.requester.publish(CommandResult(ok=True, message=text))
    await wait_for_items(seen, sent, "all events, in order")


async def test_publish_does_not_wait_for_a_slow_subscriber_which_holds_up_only_itself(cluster: Cluster) -> None:
    release = asyncio.Event()
    slow: list[str] = []
    quick: list[str] = []

    async def slow_subscriber(message: CommandResult) -> None:
        await release.wait()
        slow.append(message.message)

    cluster.server.subscribe(CommandResult, slow_subscriber)
    cluster.server.subscribe(CommandResult, collector(quick))
    await cluster.ready()
    for text in ("a", "b"):
        await asyncio.wait_for(cluster.requester.publish(CommandResult(ok=True, message=text)), 1)
    await wait_for_items(quick, ["a", "b"], "the quick subscriber's events while the slow one is stuck")
    assert slow == []
    release.set()
    await wait_for_items(slow, ["a", "b"], "the slow subscriber's events, in order")


async def test_a_failing_subscriber_does_not_stop_others_nor_its_next_event(cluster: Cluster) -> None:
    failed: list[str] = []
    fine: list[str] = []

    async def broken(message: CommandResult) -> None:
        failed.append(message.message)
        raise RuntimeError("boom")

    cluster.server.subscribe(CommandResult, broken)
    cluster.server.subscribe(CommandResult, collector(fine))
    await cluster.ready()
    await cluster.requester.publish(CommandResult(ok=True, message="1"))
    await cluster.requester.publish(CommandResult(ok=True, message="2"))
    await wait_for_items(fine, ["1", "2"], "both events at the working subscriber")
    await wait_for_items(failed, ["1", "2"], "both events at the failing subscriber")


async def test_events_reach_subscribers_and_requests_reach_handlers_only(cluster: Cluster) -> None:
    heard: list[str] = []
    asked: list[str] = []

    async def subscriber(_m: Ping) -> None:
        heard.append("event")

    async def handler(_m: Ping) -> CommandResult:
        asked.append("request")
        return CommandResult(ok=True)

    cluster.server.subscribe(Ping, subscriber)
    cluster.server.handle(Ping, handler)
    await cluster.ready()
    assert await cluster.requester.request(Ping()) == CommandResult(ok=True)
    await cluster.requester.publish(Ping())
    await wait_for_items(heard, ["event"], "the published Ping at the subscriber")
    assert asked == ["request"]


# -- requests -------------------------------------------------------------------------------------------------


async def test_a_request_is_answered_by_the_first_handler_that_owns_it_with_its_declared_reply(
    cluster: Cluster,
) -> None:
    asked: list[str] = []

    async def not_mine(_m: ListParticipants) -> ParticipantList | None:
        asked.append("not mine")
        return None

    async def mine(m: ListParticipants) -> ParticipantList | None:
        asked.append("mine")
        return ParticipantList(participants=[]) if m.conference_id == 7 else None

    async def too_late(_m: ListParticipants) -> ParticipantList | None:
        asked.append("too late")
        return ParticipantList(participants=[])

    for handler in (not_mine, mine, too_late):
        cluster.server.handle(ListParticipants, handler)
    await cluster.ready()
    reply = await cluster.requester.request(ListParticipants(conference_id=7))
    assert type(reply) is ParticipantList and reply.participants == []
    assert asked == ["not mine", "mine"]


async def test_a_request_every_handler_declines_has_no_responder(cluster: Cluster) -> None:
    async def not_mine(_m: ListParticipants) -> ParticipantList | None:
        return None

    cluster.server.handle(ListParticipants, not_mine)
    await cluster.ready()
    with pytest.raises(NoResponder, match="No server answer"):
        await cluster.requester.request(ListParticipants(conference_id=8), timeout_s=0.3)


async def test_a_request_nobody_handles_has_no_responder_at_once(cluster: Cluster) -> None:
    with pytest.raises(NoResponder, match="nobody handles it"):
        await asyncio.wait_for(cluster.requester.request(StartDirectorySync(source="s", request_id="r"), 30), 5)


async def test_a_reply_of_another_class_than_declared_is_refused(cluster: Cluster) -> None:
    async def confused(_m: Ping) -> BusMessage | None:
        return ParticipantList(participants=[])

    cluster.server.handle(Ping, confused)
    await cluster.ready()
    expected = "Ping \\(veche.server.ping\\) expects a CommandResult reply, got ParticipantList"
    with pytest.raises(UnexpectedReply, match=expected):
        await asyncio.wait_for(cluster.requester.request(Ping(), timeout_s=30), 5)
    with pytest.raises(UnexpectedReply, match=expected):
        await asyncio.wait_for(cluster.requester.request_to(SERVER, Ping(), timeout_s=30), 5)


async def test_a_request_not_answered_in_time_fails_without_cancelling_its_handler(cluster: Cluster) -> None:
    release = asyncio.Event()
    finished: list[str] = []

    async def slow(_m: Ping) -> CommandResult:
        await release.wait()
        finished.append("done")
        return CommandResult(ok=True)

    cluster.server.handle(Ping, slow)
    await cluster.ready()
    with pytest.raises(BusError, match="No server answered veche.server.ping within 0.2 s"):
        await cluster.requester.request(Ping(), timeout_s=0.2)
    with pytest.raises(BusError, match="Server app-1 did not answer veche.server.ping within 0.2 s"):
        await cluster.requester.request_to(SERVER, Ping(), timeout_s=0.2)
    release.set()
    await wait_for_items(finished, ["done", "done"], "both handlers finishing after their requesters gave up")


async def test_a_failing_handler_is_reported_to_the_requester(cluster: Cluster) -> None:
    async def broken(_m: Ping) -> CommandResult:
        raise RuntimeError("janus went away")

    cluster.server.handle(Ping, broken)
    await cluster.ready()
    with pytest.raises(BusError, match="veche.server.ping failed: app-1: RuntimeError: janus went away"):
        await cluster.requester.request(Ping(), timeout_s=0.3)
    with pytest.raises(BusError, match="Server app-1 failed to handle veche.server.ping: RuntimeError: janus"):
        await asyncio.wait_for(cluster.requester.request_to(SERVER, Ping(), timeout_s=30), 5)


# -- addressing one server ------------------------------------------------------------------------------------


async def test_publish_to_reaches_only_the_server_it_names(cluster: Cluster) -> None:
    seen: list[str] = []
    cluster.server.subscribe(CommandResult, collector(seen))
    await cluster.ready()
    await cluster.requester.publish_to("app-2", CommandResult(ok=True, message="for app-2"))
    await cluster.requester.publish_to(SERVER, CommandResult(ok=True, message="for app-1"))
    # Events of one publisher come in order: had the first reached app-1, it would be seen before the second.
    await wait_for_items(seen, ["for app-1"], "only the event addressed to app-1")


async def test_request_to_asks_the_server_it_names(cluster: Cluster) -> None:
    async def owns_seven(m: ListParticipants) -> ParticipantList | None:
        return ParticipantList(participants=[]) if m.conference_id == 7 else None

    cluster.server.handle(ListParticipants, owns_seven)
    await cluster.ready()
    reply = await cluster.requester.request_to(SERVER, ListParticipants(conference_id=7))
    assert type(reply) is ParticipantList
    with pytest.raises(NoResponder, match="Server app-1 does not handle this veche.conference.participants"):
        await asyncio.wait_for(cluster.requester.request_to(SERVER, ListParticipants(conference_id=8), 30), 5)
    with pytest.raises(NoResponder, match="Server app-9 is not on the bus"):
        await asyncio.wait_for(cluster.requester.request_to("app-9", ListParticipants(conference_id=7), 30), 5)
    with pytest.raises(NoResponder, match="Server app-1 is not on the bus: nobody receives veche.server.ping"):
        await asyncio.wait_for(cluster.requester.request_to(SERVER, Ping(), timeout_s=30), 5)


async def test_server_ids_are_checked_alike(cluster: Cluster) -> None:
    with pytest.raises(ValueError, match="cannot address"):
        await cluster.requester.publish_to("app.1", CommandResult(ok=True))
    with pytest.raises(ValueError, match="cannot address"):
        await cluster.requester.request_to("app.1", Ping())


# -- schema evolution -----------------------------------------------------------------------------------------


async def test_fields_a_receiver_does_not_know_are_ignored(cluster: Cluster) -> None:
    received: list[BusMessage] = []

    async def collect(message: CommandResult) -> None:
        received.append(message)

    async def answer(message: Ping) -> CommandResult:
        received.append(message)
        return NewerCommandResult(ok=True, message="pong", priority=3)

    cluster.server.subscribe(CommandResult, collect)
    cluster.server.handle(Ping, answer)
    await cluster.ready()
    await cluster.requester.publish(NewerCommandResult(ok=True, message="event", priority=5))
    await eventually(snapshot(received), lambda now: len(now) == 1, timeout=5, interval=0.01, what="the event")
    reply = await cluster.requester.request(NewerPing(origin="console"))
    assert [(type(m), m) for m in received] == [
        (CommandResult, CommandResult(ok=True, message="event")),
        (Ping, Ping()),
    ]
    assert (type(reply), reply) == (CommandResult, CommandResult(ok=True, message="pong"))


# -- round trips (GET /metrics) -------------------------------------------------------------------------------


async def test_requests_sent_are_counted_as_round_trips_or_failures_by_subject(cluster: Cluster) -> None:
    async def answer(_message: Ping) -> CommandResult:
        return CommandResult(ok=True)

    async def fail(_message: ListParticipants) -> BusMessage | None:
        raise RuntimeError("broken handler")

    cluster.server.handle(Ping, answer)
    cluster.server.handle(ListParticipants, fail)
    await cluster.ready()
    await cluster.requester.request(Ping())
    await cluster.requester.request_to(SERVER, Ping())
    with pytest.raises(NoResponder):
        await cluster.requester.request(StartDirectorySync(source="s", request_id="r"), timeout_s=0.2)
    with pytest.raises(BusError):
        await cluster.requester.request_to(SERVER, ListParticipants(conference_id=1), timeout_s=2)
    families = {family.name: family for family in bus_metrics(cluster.requester.round_trips)}
    answered = {
        s.labels["subject"]: s.value
        for s in families["veche_bus_request_duration_seconds"].samples
        if s.name == "veche_bus_request_duration_seconds_count"
    }
    assert answered == {Ping.subject: 2}  # addressed or not, under the request's own subject
    failed = {
        (s.labels["subject"], s.labels["reason"]): s.value for s in families["veche_bus_request_failures"].samples
    }
    assert failed == {(StartDirectorySync.subject, "no_responder"): 1, (ListParticipants.subject, "error"): 1}
