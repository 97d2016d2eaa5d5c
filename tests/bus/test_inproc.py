"""What only the in-process bus has: one process is the whole bus, ``wait_delivered``, and closing.

The semantics shared with NATS are checked against both in tests/bus/test_contract.py.
"""

from __future__ import annotations

import asyncio

import pytest

from veche.bus.base import BusError, NoResponder
from veche.bus.inproc import InProcessBus
from veche.bus.messages import CommandResult, ListParticipants, ParticipantList


async def test_a_request_every_handler_declines_fails_at_once() -> None:
    """No other process could answer, so there is no point waiting for the timeout as NATS does."""
    bus = InProcessBus()

    async def not_mine(_m: ListParticipants) -> ParticipantList | None:
        return None

    bus.handle(ListParticipants, not_mine)
    with pytest.raises(NoResponder, match="No server answers veche.conference.participants"):
        await asyncio.wait_for(bus.request(ListParticipants(conference_id=8), timeout_s=30), 5)


async def test_wait_delivered_waits_for_events_published_by_subscribers_too() -> None:
    bus = InProcessBus()
    seen: list[str] = []

    async def relay(m: CommandResult) -> None:
        seen.append(m.message)
        if m.message == "first":
            await asyncio.sleep(0)
            await bus.publish(CommandResult(ok=True, message="relayed"))

    bus.subscribe(CommandResult, relay)
    await bus.publish(CommandResult(ok=True, message="first"))
    assert seen == []  # queued, not delivered inside publish
    await bus.wait_delivered()
    assert seen == ["first", "relayed"]


async def test_close_delivers_what_was_published_then_refuses_more() -> None:
    bus = InProcessBus("app-1")
    seen: list[str] = []

    async def collect(m: CommandResult) -> None:
        seen.append(m.message)

    bus.subscribe(CommandResult, collect)
    await bus.publish(CommandResult(ok=True, message="before"))
    await bus.close()
    assert seen == ["before"]
    await bus.publish(CommandResult(ok=True, message="after"))  # dropped, as on a closed NATS bus
    await bus.wait_delivered()
    assert seen == ["before"]
    with pytest.raises(BusError, match="closed"):
        await bus.request(ListParticipants(conference_id=1))
    with pytest.raises(BusError, match="closed"):
        bus.subscribe(CommandResult, collect)
