"""Incoming calls: a call rings for the callee only, on every server; declining, joining the conference or the
ring running out stops it; pages waiting for a change wake at once. Two trackers on one in-process bus stand for
two web processes."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.eventually import eventually
from veche.base.directory.calls import MAX_RINGING_PER_USER, IncomingCalls
from veche.bus.inproc import InProcessBus
from veche.bus.messages import ParticipantJoined
from veche.domain.errors import NotFound
from veche.domain.model import User


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


ANNA = User(id=5, login="anna", display_name="Анна Петрова", email="", is_admin=False)


def _cluster(ring_s: float = 60.0) -> tuple[InProcessBus, Clock, IncomingCalls, IncomingCalls]:
    bus, clock = InProcessBus("web-1"), Clock()
    return bus, clock, IncomingCalls(bus, ring_s=ring_s, now_s=clock), IncomingCalls(bus, ring_s=ring_s, now_s=clock)


def _conferences(calls: IncomingCalls, user_id: int) -> list[int]:
    return [c.conference_id for c in calls.ringing(user_id)]


async def _rings(calls: IncomingCalls, user_id: int, conferences: list[int]) -> None:
    """Wait until ``calls`` has heard that exactly these calls ring for ``user_id`` (the fake clock stands still)."""

    async def probe() -> list[int]:
        return _conferences(calls, user_id)

    await eventually(probe, lambda now: now == conferences, timeout=5, interval=0.01, what=f"calls {conferences}")


async def test_a_call_rings_for_the_callee_on_every_server() -> None:
    _, _, web1, web2 = _cluster()
    await web1.ring(ANNA, 7, 30)
    for calls in (web1, web2):
        await _rings(calls, 7, [30])
        [call] = calls.ringing(7)
        assert (call.conference_id, call.caller_id, call.caller_name) == (30, 5, "Анна Петрова")
        assert calls.remaining_s(call) == 60
    assert web2.ringing(5) == [] and web2.ringing(8) == []


async def test_declining_stops_it_everywhere_and_only_the_callee_may() -> None:
    _, _, web1, web2 = _cluster()
    await web1.ring(ANNA, 7, 30)
    await _rings(web2, 7, [30])
    with pytest.raises(NotFound):
        await web2.decline(8, 30)  # someone else's call looks like no call
    await web2.decline(7, 30)
    await _rings(web1, 7, [])
    await _rings(web2, 7, [])
    with pytest.raises(NotFound):
        await web1.decline(7, 30)


async def test_joining_the_conference_answers_the_call() -> None:
    bus, _, web1, web2 = _cluster()
    await web1.ring(ANNA, 7, 30)
    await web1.ring(ANNA, 7, 31)
    await bus.publish(ParticipantJoined(server_id="app-1", conference_id=30, participant_id="p", identity="user:5"))
    await bus.wait_delivered()
    assert _conferences(web2, 7) == [30, 31]  # the caller joining changes nothing
    await bus.publish(ParticipantJoined(server_id="app-1", conference_id=30, participant_id="q", identity="user:7"))
    await _rings(web2, 7, [31])


async def test_a_call_stops_ringing_after_ring_s() -> None:
    _, clock, web1, _ = _cluster(ring_s=60)
    await web1.ring(ANNA, 7, 30)
    await _rings(web1, 7, [30])
    clock.now += 59
    assert _conferences(web1, 7) == [30]
    clock.now += 1
    assert _conferences(web1, 7) == []


async def test_a_caller_cannot_pile_up_calls() -> None:
    bus, clock, web1, _ = _cluster()
    for conference in range(MAX_RINGING_PER_USER + 5):
        await web1.ring(ANNA, 7, conference)
        await bus.wait_delivered()  # each call heard, and its ring timed, before the clock moves on
        clock.now += 0.1
    assert _conferences(web1, 7) == list(range(5, MAX_RINGING_PER_USER + 5))  # the oldest went


async def test_waiting_pages_wake_when_a_call_comes_or_goes() -> None:
    _, _, web1, web2 = _cluster()
    assert await web2.wait(7, [], 0) == []
    waiting = asyncio.create_task(web2.wait(7, [], 5))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await web1.ring(ANNA, 7, 30)
    assert [c.conference_id for c in await asyncio.wait_for(waiting, 1)] == [30]
    # Knowing about it already, the page waits; the callee declining elsewhere wakes it.
    waiting = asyncio.create_task(web2.wait(7, [30], 5))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await web1.decline(7, 30)
    assert await asyncio.wait_for(waiting, 1) == []
    # Nothing changes: the answer comes after the timeout, the same as known.
    assert await web2.wait(7, [], 0.05) == []
    assert await web2.wait(7, [31], 5) == []  # differs from what the page shows: at once


async def test_a_waiting_page_wakes_when_the_ring_runs_out() -> None:
    calls = IncomingCalls(InProcessBus(), ring_s=0.2)  # on the real clock
    await calls.ring(ANNA, 7, 30)
    [call] = await calls.wait(7, [], 1)
    assert await asyncio.wait_for(calls.wait(7, [call.conference_id], 5), 2) == []
