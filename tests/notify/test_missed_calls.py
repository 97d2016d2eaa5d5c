"""A call that rings out or that the caller hangs up before an answer becomes a "missed_call" notice for the
callee; an answered or declined call does not. Two trackers on one in-process bus stand for two web processes:
only the one the call was placed through notifies."""

from __future__ import annotations

from collections.abc import Sequence

from tests.support.eventually import eventually
from veche.base.directory.calls import IncomingCalls
from veche.bus.inproc import InProcessBus
from veche.domain.model import User
from veche.domain.notifications import Notice

ANNA = User(id=5, login="anna", display_name="Анна Петрова", email="", is_admin=False)


class Notices:
    def __init__(self) -> None:
        self.notices: list[Notice] = []

    async def notify(self, notices: Sequence[Notice]) -> None:
        self.notices.extend(notices)


def _pair(ring_s: float) -> tuple[IncomingCalls, IncomingCalls, Notices, Notices]:
    bus = InProcessBus("web-1")
    here, there = Notices(), Notices()
    return (
        IncomingCalls(bus, ring_s=ring_s, notifier=here),
        IncomingCalls(bus, ring_s=ring_s, notifier=there),
        here,
        there,
    )


async def test_a_call_that_rings_out_is_a_missed_call_for_the_callee() -> None:
    web1, web2, here, there = _pair(ring_s=0.2)
    await web1.ring(ANNA, 7, 30, conference_slug="anna-room")

    async def stored() -> list[Notice]:
        return here.notices

    [notice] = await eventually(stored, lambda n: len(n) == 1, what="the missed call notice")
    assert (notice.user_id, notice.kind) == (7, "missed_call")
    assert "Анна Петрова" in notice.title and notice.key.startswith("missed_call:")
    await web1.settled()
    await web2.settled()
    assert there.notices == [] and len(here.notices) == 1


async def test_a_call_the_caller_cancels_is_missed_one_declined_or_answered_is_not() -> None:
    web1, web2, here, _ = _pair(ring_s=30)
    await web1.ring(ANNA, 7, 30)

    async def ringing_there() -> int:
        return len(web2.ringing(7))

    await eventually(ringing_there, lambda n: n == 1, what="the call heard on the other server")
    await web2.decline(7, 30)  # the callee, on another server
    await web1.ring(ANNA, 8, 31)
    await web1.answer(8, 31)
    await web1.settled()
    assert here.notices == []
    await web1.ring(ANNA, 9, 32)
    await web1.cancel(ANNA.id, 32)
    await web1.settled()
    assert [(n.user_id, n.kind) for n in here.notices] == [(9, "missed_call")]
