from __future__ import annotations

import pytest

from veche.bus.base import NoResponder
from veche.bus.inproc import InProcessBus
from veche.bus.messages import BusMessage, CommandResult, ListParticipants, ParticipantList


async def test_request_goes_to_the_handler_that_owns_it() -> None:
    bus = InProcessBus()

    async def not_mine(_m: ListParticipants) -> BusMessage | None:
        return None

    async def mine(m: ListParticipants) -> BusMessage | None:
        return ParticipantList(participants=[]) if m.conference_id == 7 else None

    bus.handle(ListParticipants, not_mine)
    bus.handle(ListParticipants, mine)
    assert await bus.request(ListParticipants(conference_id=7)) == ParticipantList(participants=[])
    with pytest.raises(NoResponder, match="No server answers"):
        await bus.request(ListParticipants(conference_id=8))


async def test_failing_subscriber_does_not_stop_others() -> None:
    bus = InProcessBus()
    seen: list[bool] = []

    async def broken(_m: CommandResult) -> None:
        raise RuntimeError("boom")

    async def fine(m: CommandResult) -> None:
        seen.append(m.ok)

    bus.subscribe(CommandResult, broken)
    bus.subscribe(CommandResult, fine)
    await bus.publish(CommandResult(ok=True))
    assert seen == [True]
