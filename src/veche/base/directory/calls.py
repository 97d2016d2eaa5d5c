"""Calls from the address book: "X is calling you" on the callee's open pages and "Ringing X…" on the caller's,
whichever web server they talk to.

Calling a contact (:meth:`AddressBook.call`) publishes IncomingCall on the bus. Every process keeps the calls it
heard in memory for ``ring_s`` and answers the callee's pages, which wait for a change (a long poll). A call
stops ringing when the callee declines it or answers it (CallDismissed, heard by every process; joining its
conference counts as answering: ParticipantJoined from the app server), when the caller cancels it (CallDismissed
"cancelled"), or after ``ring_s`` (nobody answered). The caller's page waits the same way for the call's state to
change (:meth:`IncomingCalls.wait_outgoing`); an ended call's state is kept for ``ENDED_KEPT_S`` so it can learn it.
A call that ends unanswered (it rang out, or the caller hung up first) becomes a "missed_call" notice for the callee,
stored by the process the call was placed through (its key is the call's id, so it is stored once).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from veche.base.directory.presence import user_id_of
from veche.bus.base import Bus
from veche.bus.messages import CallDismissed, IncomingCall, ParticipantJoined
from veche.domain.errors import NotFound
from veche.domain.model import User
from veche.domain.notifications import Notice, Notifier

__all__ = ["CallState", "IncomingCalls", "OutgoingCall", "RingingCall"]

logger = logging.getLogger(__name__)

RING_S = 30.0  # how long a call rings when nobody answers (configurable: `directory.ring_s`)
MAX_RINGING_PER_USER = 10  # a caller repeating himself cannot fill the memory of every server
ENDED_KEPT_S = 60.0  # how long the caller's pages can still learn how his call ended


class CallState(enum.StrEnum):
    """Where a call stands, as its caller sees it."""

    RINGING = "ringing"
    ANSWERED = "answered"
    DECLINED = "declined"
    UNANSWERED = "unanswered"  # rang for ring_s, nobody answered
    CANCELLED = "cancelled"  # the caller hung up before an answer


_DISMISSED = {"declined": CallState.DECLINED, "cancelled": CallState.CANCELLED, "answered": CallState.ANSWERED}


@dataclass(frozen=True)
class RingingCall:
    """One call ringing for ``callee_id``; ``until`` is on this process's clock."""

    conference_id: int
    caller_id: int
    caller_name: str
    callee_id: int
    until: float
    conference_slug: str = ""  # the page to open: /c/<slug>
    callee_name: str = ""
    call_id: str = ""


@dataclass(frozen=True)
class OutgoingCall:
    """One call ``caller_id`` made; ``until`` (this process's clock) is when it stops ringing, or stopped."""

    conference_id: int
    caller_id: int
    callee_id: int
    callee_name: str
    state: CallState
    until: float
    conference_slug: str = ""
    call_id: str = ""


class IncomingCalls:
    """The calls ringing for each user, as heard on the bus, and the pages waiting for them to change."""

    def __init__(
        self,
        bus: Bus,
        *,
        ring_s: float = RING_S,
        now_s: Callable[[], float] = time.monotonic,
        notifier: Notifier | None = None,
    ) -> None:
        """``notifier``: told of calls that end unanswered (rang out, or the caller hung up first) placed here."""
        self._bus = bus
        self._notifier = notifier
        self._watches: set[asyncio.Task[None]] = set()
        self._ring_s = ring_s
        self._now = now_s
        self._ringing: dict[int, dict[int, RingingCall]] = {}  # callee id -> conference id -> call
        self._outgoing: dict[int, dict[int, OutgoingCall]] = {}  # caller id -> conference id -> call
        self._waiters: dict[int, set[asyncio.Event]] = {}  # callee id -> pages waiting for a change
        self._caller_waiters: dict[int, set[asyncio.Event]] = {}
        self._swept = now_s()
        bus.subscribe(IncomingCall, self._incoming)
        bus.subscribe(CallDismissed, self._dismissed)
        bus.subscribe(ParticipantJoined, self._joined)

    @property
    def ring_s(self) -> float:
        return self._ring_s

    async def ring(
        self, caller: User, callee_id: int, conference_id: int, conference_slug: str = "", callee_name: str = ""
    ) -> None:
        """Tell every server that ``callee_id`` is being called into ``conference_id``."""
        message = IncomingCall(
            conference_id=conference_id,
            conference_slug=conference_slug,
            caller_id=caller.id,
            caller_name=caller.display_name,
            callee_id=callee_id,
            ring_s=self._ring_s,
            callee_name=callee_name,
            call_id=secrets.token_hex(8),
        )
        await self._incoming(message)  # rings here at once (calling again sees it); the others hear the bus
        await self._bus.publish(message)
        if self._notifier is not None:
            watch = asyncio.create_task(self._notify_if_missed(caller, message), name="missed-call")
            self._watches.add(watch)
            watch.add_done_callback(self._watches.discard)

    async def settled(self) -> None:
        """Wait until every call placed here has ended and its missed call notice (if any) is stored."""
        while self._watches:
            await asyncio.gather(*self._watches, return_exceptions=True)

    async def _notify_if_missed(self, caller: User, message: IncomingCall) -> None:
        """Once the call stops ringing: a "missed_call" notice for the callee unless he answered or declined."""
        assert self._notifier is not None
        known = CallState.RINGING.value
        try:
            while True:
                call = await self.wait_outgoing(caller.id, message.conference_id, known, self._ring_s + 1.0)
                if call.call_id != message.call_id:
                    return  # called again meanwhile: that call is watched by itself
                if call.state is not CallState.RINGING:
                    break
            if call.state not in (CallState.UNANSWERED, CallState.CANCELLED):
                return
            notice = Notice(
                key=f"missed_call:{message.call_id}",
                user_id=message.callee_id,
                kind="missed_call",
                title=f"Missed call from {caller.display_name}",
                body=f"{caller.display_name} called you.",
                url="/directory",
            )
            await self._notifier.notify([notice])
        except NotFound:
            return  # forgotten already (long after it ended)
        except Exception:
            logger.exception("the missed call notice for user %d could not be stored", message.callee_id)

    async def decline(self, callee_id: int, conference_id: int) -> None:
        """The callee does not take the call: it stops ringing on every server."""
        if conference_id not in self._current(callee_id):
            # Another user's call looks the same as no call at all.
            raise NotFound(f"No call is ringing for you in conference {conference_id}.")
        await self._dismiss(CallDismissed(conference_id=conference_id, callee_id=callee_id, reason="declined"))

    async def answer(self, callee_id: int, conference_id: int) -> None:
        """The callee takes the call (he is on his way into the conference): the caller's page follows."""
        if conference_id not in self._current(callee_id):
            raise NotFound(f"No call is ringing for you in conference {conference_id}.")
        await self._dismiss(CallDismissed(conference_id=conference_id, callee_id=callee_id, reason="answered"))

    async def cancel(self, caller_id: int, conference_id: int) -> OutgoingCall:
        """The caller hangs up before an answer: it stops ringing on the callee's pages. Returns how it ended
        (an answer or a refusal that came first stands)."""
        call = self.outgoing(caller_id, conference_id)
        if call is None:
            raise NotFound(f"You are not calling anyone in conference {conference_id}.")
        if call.state is CallState.RINGING:
            await self._dismiss(
                CallDismissed(conference_id=conference_id, callee_id=call.callee_id, reason="cancelled")
            )
        return self.outgoing(caller_id, conference_id) or call

    def outgoing(self, caller_id: int, conference_id: int) -> OutgoingCall | None:
        """The call ``caller_id`` made into ``conference_id``, as it stands now; None when there is none (any more)."""
        calls = self._outgoing.get(caller_id)
        call = calls.get(conference_id) if calls else None
        if call is None:
            return None
        now = self._now()
        if call.state is CallState.RINGING and call.until <= now:
            call = replace(call, state=CallState.UNANSWERED)  # rang out: it ended at ``until``
            self._outgoing[caller_id][conference_id] = call
        if call.state is not CallState.RINGING and call.until + ENDED_KEPT_S <= now:
            self._drop_outgoing(caller_id, conference_id)
            return None
        return call

    async def wait_outgoing(
        self, caller_id: int, conference_id: int, known: str | None, timeout_s: float
    ) -> OutgoingCall:
        """The caller's call as soon as its state differs from ``known``, or after ``timeout_s``.

        Raises :class:`NotFound` when he has no such call (another user's call looks the same).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            call = self.outgoing(caller_id, conference_id)
            if call is None:
                raise NotFound(f"You are not calling anyone in conference {conference_id}.")
            left = deadline - loop.time()
            if call.state.value != known or left <= 0:
                return call
            if call.state is CallState.RINGING:  # wake when it rings out
                left = min(left, self.remaining_s(call) + 0.01)
            changed = asyncio.Event()
            self._caller_waiters.setdefault(caller_id, set()).add(changed)
            try:
                await asyncio.wait_for(changed.wait(), left)
            except TimeoutError:
                pass
            finally:
                waiting = self._caller_waiters.get(caller_id)
                if waiting is not None:
                    waiting.discard(changed)
                    if not waiting:
                        del self._caller_waiters[caller_id]

    async def _dismiss(self, message: CallDismissed) -> None:
        await self._dismissed(message)  # here at once; the other servers hear the bus
        await self._bus.publish(message)

    def ringing(self, callee_id: int) -> list[RingingCall]:
        """The calls ringing for the user now, oldest first."""
        return sorted(self._current(callee_id).values(), key=lambda c: c.until)

    def remaining_s(self, call: RingingCall | OutgoingCall) -> float:
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

    def _forget(self, callee_id: int, conference_id: int, state: CallState) -> None:
        calls = self._ringing.get(callee_id)
        call = calls.pop(conference_id, None) if calls is not None else None
        if calls is not None and call is not None:
            if not calls:
                del self._ringing[callee_id]
            self._changed(callee_id)
        # The caller learns how it ended: found by the ringing call, or (it rang out here already) by the callee.
        for caller_id, outgoing in list(self._outgoing.items()):
            placed = outgoing.get(conference_id)
            if placed is None or placed.callee_id != callee_id or (call is not None and caller_id != call.caller_id):
                continue
            if placed.state is CallState.RINGING:
                outgoing[conference_id] = replace(placed, state=state, until=min(placed.until, self._now()))
                self._caller_changed(caller_id)

    def _caller_changed(self, caller_id: int) -> None:
        for event in self._caller_waiters.get(caller_id, ()):
            event.set()

    def _drop_outgoing(self, caller_id: int, conference_id: int) -> None:
        calls = self._outgoing.get(caller_id)
        if calls is not None:
            calls.pop(conference_id, None)
            if not calls:
                del self._outgoing[caller_id]

    def _heard_before(self, message: IncomingCall) -> bool:
        """This process heard this very call already (it rang here first; this is its bus echo), and it may have
        ended meanwhile (a quick decline): ring nothing again."""
        placed = self._outgoing.get(message.caller_id, {}).get(message.conference_id)
        return bool(message.call_id) and placed is not None and placed.call_id == message.call_id

    async def _incoming(self, message: IncomingCall) -> None:
        now = self._now()
        if now - self._swept > self._ring_s:  # forget the calls of people who never looked
            self._swept = now
            for callee in list(self._ringing):
                self._current(callee)
            for caller, placed in list(self._outgoing.items()):
                for conference in list(placed):
                    self.outgoing(caller, conference)
        if self._heard_before(message):
            return
        calls = self._ringing.setdefault(message.callee_id, {})
        calls[message.conference_id] = RingingCall(
            conference_id=message.conference_id,
            caller_id=message.caller_id,
            caller_name=message.caller_name,
            callee_id=message.callee_id,
            until=now + message.ring_s,
            conference_slug=message.conference_slug,
            callee_name=message.callee_name,
            call_id=message.call_id,
        )
        while len(calls) > MAX_RINGING_PER_USER:
            del calls[min(calls.values(), key=lambda c: c.until).conference_id]
        self._changed(message.callee_id)
        placed = self._outgoing.setdefault(message.caller_id, {})
        placed[message.conference_id] = OutgoingCall(
            conference_id=message.conference_id,
            caller_id=message.caller_id,
            callee_id=message.callee_id,
            callee_name=message.callee_name,
            state=CallState.RINGING,
            until=now + message.ring_s,
            conference_slug=message.conference_slug,
            call_id=message.call_id,
        )
        while len(placed) > MAX_RINGING_PER_USER:
            del placed[min(placed.values(), key=lambda c: c.until).conference_id]
        self._caller_changed(message.caller_id)

    async def _dismissed(self, message: CallDismissed) -> None:
        self._forget(message.callee_id, message.conference_id, _DISMISSED.get(message.reason, CallState.DECLINED))

    async def _joined(self, message: ParticipantJoined) -> None:
        user_id = user_id_of(message.identity)
        if user_id is not None:
            self._forget(user_id, message.conference_id, CallState.ANSWERED)
