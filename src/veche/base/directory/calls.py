"""Incoming calls: "X is calling you" on the callee's open pages, whichever web server they talk to.

Calling a contact (:meth:`AddressBook.call`) publishes IncomingCall on the bus. Every process keeps the calls it
heard in memory for ``ring_s`` and answers the callee's pages, which wait for a change (a long poll). A call
stops ringing when the callee declines it (CallDismissed, heard by every process), joins its conference
(ParticipantJoined from the app server), or after ``ring_s``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from veche.base.directory.presence import user_id_of
from veche.bus.base import Bus
from veche.bus.messages import CallDismissed, IncomingCall, ParticipantJoined
from veche.domain.errors import NotFound
from veche.domain.model import User

__all__ = ["IncomingCalls", "RingingCall"]

RING_S = 60.0
MAX_RINGING_PER_USER = 10  # a caller repeating himself cannot fill the memory of every server


@dataclass(frozen=True)
class RingingCall:
    """One call ringing for ``callee_id``; ``until`` is on this process's clock."""

    conference_id: int
    caller_id: int
    caller_name: str
    callee_id: int
    until: float
    conference_slug: str = ""  # the page to open: /c/<slug>


class IncomingCalls:
    """The calls ringing for each user, as heard on the bus, and the pages waiting for them to change."""

    def __init__(self, bus: Bus, *, ring_s: float = RING_S, now_s: Callable[[], float] = time.monotonic) -> None:
        self._bus = bus
        self._ring_s = ring_s
        self._now = now_s
        self._ringing: dict[int, dict[int, RingingCall]] = {}  # callee id -> conference id -> call
        self._waiters: dict[int, set[asyncio.Event]] = {}
        self._swept = now_s()
        bus.subscribe(IncomingCall, self._incoming)
        bus.subscribe(CallDismissed, self._dismissed)
        bus.subscribe(ParticipantJoined, self._joined)

    async def ring(self, caller: User, callee_id: int, conference_id: int, conference_slug: str = "") -> None:
        """Tell every server that ``callee_id`` is being called into ``conference_id``."""
        message = IncomingCall(
            conference_id=conference_id,
            conference_slug=conference_slug,
            caller_id=caller.id,
            caller_name=caller.display_name,
            callee_id=callee_id,
            ring_s=self._ring_s,
        )
        await self._incoming(message)  # rings here at once (calling again sees it); the others hear the bus
        await self._bus.publish(message)

    async def decline(self, callee_id: int, conference_id: int) -> None:
        """The callee does not take the call: it stops ringing on every server."""
        if conference_id not in self._current(callee_id):
            # Another user's call looks the same as no call at all.
            raise NotFound(f"No call is ringing for you in conference {conference_id}.")
        dismissed = CallDismissed(conference_id=conference_id, callee_id=callee_id, reason="declined")
        await self._dismissed(dismissed)  # here at once; the other servers hear the bus
        await self._bus.publish(dismissed)

    def ringing(self, callee_id: int) -> list[RingingCall]:
        """The calls ringing for the user now, oldest first."""
        return sorted(self._current(callee_id).values(), key=lambda c: c.until)

    def remaining_s(self, call: RingingCall) -> float:
        return max(0.0, call.until - self._now())

    async def wait(self, callee_id: int, known: Iterable[int], timeout_s: float) -> list[RingingCall]:
        """The ringing calls as soon as they differ from the conferences in ``known``, or after ``timeout_s``."""
        known_ids = frozenset(known)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            calls = self.ringing(callee_id)
            left = deadline - loop.time()
            if {c.conference_id for c in calls} != known_ids or left <= 0:
                return calls
            if calls:  # wake when the first of them stops ringing
                left = min(left, self.remaining_s(calls[0]) + 0.01)
            changed = asyncio.Event()
            self._waiters.setdefault(callee_id, set()).add(changed)
            try:
                await asyncio.wait_for(changed.wait(), left)
            except TimeoutError:
                pass
            finally:
                waiting = self._waiters.get(callee_id)
                if waiting is not None:
                    waiting.discard(changed)
                    if not waiting:
                        del self._waiters[callee_id]

    def _current(self, callee_id: int) -> dict[int, RingingCall]:
        calls = self._ringing.get(callee_id)
        if not calls:
            return {}
        now = self._now()
        expired = [conference for conference, call in calls.items() if call.until <= now]
        for conference in expired:
            del calls[conference]
        if not calls:
            del self._ringing[callee_id]
            return {}
        return calls

    def _changed(self, callee_id: int) -> None:
        for event in self._waiters.get(callee_id, ()):
            event.set()

    def _forget(self, callee_id: int, conference_id: int) -> None:
        calls = self._ringing.get(callee_id)
        if calls is not None and calls.pop(conference_id, None) is not None:
            if not calls:
                del self._ringing[callee_id]
            self._changed(callee_id)

    async def _incoming(self, message: IncomingCall) -> None:
        now = self._now()
        if now - self._swept > self._ring_s:  # forget the calls of people who never looked
            self._swept = now
            for callee in list(self._ringing):
                self._current(callee)
        calls = self._ringing.setdefault(message.callee_id, {})
        calls[message.conference_id] = RingingCall(
            conference_id=message.conference_id,
            caller_id=message.caller_id,
            caller_name=message.caller_name,
            callee_id=message.callee_id,
            until=now + message.ring_s,
            conference_slug=message.conference_slug,
        )
        while len(calls) > MAX_RINGING_PER_USER:
            del calls[min(calls.values(), key=lambda c: c.until).conference_id]
        self._changed(message.callee_id)

    async def _dismissed(self, message: CallDismissed) -> None:
        self._forget(message.callee_id, message.conference_id)

    async def _joined(self, message: ParticipantJoined) -> None:
        user_id = user_id_of(message.identity)
        if user_id is not None:
            self._forget(user_id, message.conference_id)
