"""Presence across a cluster: a request seen by one web server makes the user "online" on every server, with at
most one PresenceSeen per user per interval on the bus. Two trackers on one in-process bus stand for two
processes on NATS (which also delivers a process's own messages back to it)."""

from __future__ import annotations

import asyncio

from veche.base.directory.presence import PresenceTracker
from veche.bus.inproc import InProcessBus
from veche.bus.messages import ParticipantJoined, ParticipantLeft, PresenceSeen, ServerHeartbeat
from veche.domain.directory import Presence


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _cluster(ttl: float = 90.0) -> tuple[InProcessBus, Clock, PresenceTracker, PresenceTracker, list[PresenceSeen]]:
    bus, clock = InProcessBus("web-1"), Clock()
    sent: list[PresenceSeen] = []

    async def count(message: PresenceSeen) -> None:
        sent.append(message)

    bus.subscribe(PresenceSeen, count)
    web1 = PresenceTracker(bus, online_ttl_s=ttl, now_s=clock)
    web2 = PresenceTracker(bus, online_ttl_s=ttl, now_s=clock)
    return bus, clock, web1, web2, sent


async def _settle(bus: InProcessBus) -> None:
    """Every tracker has heard what was published, before the clock moves on (trackers stamp what they hear)."""
    for _ in range(3):  # touch publishes from a task: let it run
        await asyncio.sleep(0)
    await bus.wait_delivered()


async def test_a_request_on_one_server_is_online_on_the_others() -> None:
    bus, clock, web1, web2, _ = _cluster()
    assert web2.state(7).presence is Presence.OFFLINE
    web1.touch(7)
    await _settle(bus)
    assert web1.state(7).presence is Presence.ONLINE
    assert web2.state(7).presence is Presence.ONLINE
    clock.now += 91
    assert web2.state(7).presence is Presence.OFFLINE


async def test_one_message_per_user_per_interval() -> None:
    bus, clock, web1, web2, sent = _cluster(ttl=90)  # shares every 30 s
    for _ in range(50):
        web1.touch(7)
        await _settle(bus)
        web2.touch(7)  # the other server heard of him: it does not repeat it
        clock.now += 0.5
    await _settle(bus)
    assert [m.user_id for m in sent] == [7]
    web1.touch(8)
    await _settle(bus)
    assert [m.user_id for m in sent] == [7, 8]  # the limit is per user
    clock.now += 30
    web2.touch(7)
    await _settle(bus)
    assert [m.user_id for m in sent] == [7, 8, 7]


async def test_a_user_busy_on_one_server_never_blinks_offline_on_another() -> None:
    bus, clock, web1, web2, sent = _cluster(ttl=90)
    for _ in range(300):  # five minutes of requests, all served by web1
        web1.touch(7)
        await _settle(bus)
        assert web2.state(7).presence is Presence.ONLINE, clock.now
        clock.now += 1
    assert 9 <= len(sent) <= 11  # one every 30 s, not 300
    clock.now += 90
    assert web2.state(7).presence is Presence.OFFLINE


async def test_in_a_conference_from_app_server_events() -> None:
    bus, clock, web1, _, _ = _cluster()
    beat = ServerHeartbeat(server_id="app-1", roles=["app"], software_version="t", host="h", pid=1, sent_at=0)
    await bus.publish(beat)
    joined = {"server_id": "app-1", "conference_id": 3, "participant_id": "p-1", "identity": "user:7"}
    await bus.publish(ParticipantJoined(**joined))
    await _settle(bus)
    state = web1.state(7)
    assert state.presence is Presence.IN_CONFERENCE and state.conference_id == 3
    clock.now += 6  # the app server stopped sending heartbeats: its conferences no longer count
    assert web1.state(7).presence is Presence.OFFLINE
    await bus.publish(beat)
    await _settle(bus)
    assert web1.state(7).presence is Presence.IN_CONFERENCE
    await bus.publish(ParticipantLeft(**joined))
    await _settle(bus)
    assert web1.state(7).presence is Presence.ONLINE  # just left a call


def test_touch_outside_an_event_loop_still_counts_locally() -> None:
    _, _, web1, web2, sent = _cluster()
    web1.touch(7)
    assert web1.state(7).presence is Presence.ONLINE
    assert web2.state(7).presence is Presence.OFFLINE and sent == []
