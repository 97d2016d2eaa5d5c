"""The caller's side of a call: ringing, then answered, declined, unanswered or cancelled, on every server; only
the caller sees his call, and his waiting page wakes when it changes. Two trackers on one in-process bus stand for
two web processes."""

from __future__ import annotations

import asyncio

import pytest

from tests.directory.test_incoming_calls import ANNA, _cluster, _rings
from tests.support.eventually import eventually
from veche.base.directory.calls import ENDED_KEPT_S, CallState, IncomingCalls
from veche.bus.inproc import InProcessBus
from veche.bus.messages import ParticipantJoined
from veche.domain.errors import NotFound

BOB = 7


async def _state(calls: IncomingCalls, conference: int, expected: CallState) -> None:
    async def probe() -> CallState | None:
        call = calls.outgoing(ANNA.id, conference)
        return None if call is None else call.state

    await eventually(probe, lambda s: s is expected, timeout=5, interval=0.01, what=f"the call {expected}")


async def test_the_caller_sees_his_call_ringing_on_every_server_and_only_he() -> None:
    _, _, web1, web2 = _cluster(ring_s=30)
    await web1.ring(ANNA, BOB, 30, "slug", "Bob Brown")
    for calls in (web1, web2):
        await _state(calls, 30, CallState.RINGING)
        call = calls.outgoing(ANNA.id, 30)
        assert call is not None and (call.callee_id, call.callee_name) == (BOB, "Bob Brown")
        assert calls.remaining_s(call) == 30
    assert web2.outgoing(BOB, 30) is None  # the callee, or anyone else, has no such call
    with pytest.raises(NotFound):
        await web2.wait_outgoing(BOB, 30, None, 0)


async def test_declined_and_answered_reach_the_caller() -> None:
    bus, _, web1, web2 = _cluster()
    await web1.ring(ANNA, BOB, 30)
    await web1.ring(ANNA, BOB, 31)
    await _rings(web2, BOB, [30, 31])
    await web2.decline(BOB, 30)
    await _state(web1, 30, CallState.DECLINED)
    await web2.answer(BOB, 31)
    await _state(web1, 31, CallState.ANSWERED)
    await _rings(web1, BOB, [])

    # Joining the conference answers too.
    await web1.ring(ANNA, BOB, 32)
    await _rings(web2, BOB, [32])
    await bus.publish(ParticipantJoined(server_id="app-1", conference_id=32, participant_id="p", identity="user:7"))
    await _state(web2, 32, CallState.ANSWERED)


async def test_a_call_nobody_answers_ends_unanswered_and_is_forgotten_later() -> None:
    _, clock, web1, _ = _cluster(ring_s=30)
    await web1.ring(ANNA, BOB, 30)
    clock.now += 29.9
    assert web1.outgoing(ANNA.id, 30).state is CallState.RINGING  # type: ignore[union-attr]
    clock.now += 0.1
    assert web1.outgoing(ANNA.id, 30).state is CallState.UNANSWERED  # type: ignore[union-attr]
    assert web1.ringing(BOB) == []
    with pytest.raises(NotFound):
        await web1.decline(BOB, 30)  # too late to decline: it is over
    clock.now += ENDED_KEPT_S
    assert web1.outgoing(ANNA.id, 30) is None


async def test_cancelling_stops_the_ring_for_the_callee_everywhere() -> None:
    _, _, web1, web2 = _cluster()
    await web1.ring(ANNA, BOB, 30)
    await _rings(web2, BOB, [30])
    with pytest.raises(NotFound):
        await web2.cancel(BOB, 30)  # only the caller may cancel his call
    ended = await web2.cancel(ANNA.id, 30)
    assert ended.state is CallState.CANCELLED
    await _rings(web1, BOB, [])
    await _state(web1, 30, CallState.CANCELLED)
    # An answer that came first stands: cancelling after it changes nothing.
    await web1.ring(ANNA, BOB, 31)
    await _rings(web2, BOB, [31])
    await web2.answer(BOB, 31)
    assert (await web2.cancel(ANNA.id, 31)).state is CallState.ANSWERED


async def test_a_quick_decline_is_not_undone_by_the_rings_own_echo() -> None:
    bus, _, web1, _ = _cluster()
    await web1.ring(ANNA, BOB, 30)
    await web1.decline(BOB, 30)  # before the bus delivered the ring back to this very process
    await bus.wait_delivered()
    assert web1.ringing(BOB) == []
    assert web1.outgoing(ANNA.id, 30).state is CallState.DECLINED  # type: ignore[union-attr]


async def test_the_callers_waiting_page_wakes_when_the_call_changes_or_rings_out() -> None:
    _, _, web1, web2 = _cluster()
    await web1.ring(ANNA, BOB, 30)
    await _state(web2, 30, CallState.RINGING)
    waiting = asyncio.create_task(web2.wait_outgoing(ANNA.id, 30, "ringing", 5))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await web1.decline(BOB, 30)
    assert (await asyncio.wait_for(waiting, 1)).state is CallState.DECLINED


async def test_a_waiting_caller_learns_it_rang_out() -> None:
    calls = IncomingCalls(InProcessBus(), ring_s=0.2)  # on the real clock
    await calls.ring(ANNA, BOB, 30)
    answer = await asyncio.wait_for(calls.wait_outgoing(ANNA.id, 30, "ringing", 5), 2)
    assert answer.state is CallState.UNANSWERED
