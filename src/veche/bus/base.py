"""The bus interface: events to every subscriber, requests answered by one handler, with one set of semantics.

Two implementations keep these semantics, checked by one contract suite (tests/bus/test_contract.py):
:class:`~veche.bus.inproc.InProcessBus` (``veche up``, one process) and :class:`~veche.bus.nats.NatsBus` (a
cluster). Every message crosses either as its wire form (:mod:`veche.bus.envelope`), so a receiver gets its own
copy, decoded as the class it listens for, with the fields it does not know ignored.

Events (:meth:`Bus.publish`, :meth:`Bus.subscribe`):

- ``publish`` returns once the event is handed to the bus; it never waits for a subscriber.
- Every subscription of the event's subject, in every process on the bus (this one included), gets it.
- Each subscription gets the events of one publisher in the order they were published, delivered by its own
  task: a slow subscriber holds up only itself; one that raises is logged and gets the next event as usual.
- Events reach subscribers only, requests reach handlers only, even when both use the same class.
- On NATS a subscription made in another process is live once that bus's ``flush()`` returns; while NATS is
  away, events are dropped.

Requests (:meth:`Bus.handle`, :meth:`Bus.request`): a request class declares its reply
(``class Ping(BusRequest[CommandResult])``) and ``request`` returns that type.

- Every process that handles the subject asks its handlers in the order they were registered; the first one
  that does not return ``None`` answers, ``None`` meaning "not mine". The requester takes the first answer.
- A reply of another class than the declared one raises :class:`UnexpectedReply`.
- :class:`NoResponder` when nobody handles the subject (at once), when every handler declines (at once in one
  process; on NATS after ``timeout_s``, since another process might still answer), or when no answer comes
  within ``timeout_s``.
- A handler that raises is logged and the requester gets a :class:`BusError` naming the failure (on NATS only
  if no other process answers within ``timeout_s``).
- Each request is handled in its own task: a slow handler holds up no other request, and the requester's
  timeout does not cancel it.

Addressing one server (the ``server_id`` a bus is built with):

- ``publish_to`` reaches the subscribers of that server only; to a server not on the bus the event is dropped.
- ``request_to`` asks that server's handlers only, and a live server always answers at once: the reply, a
  :class:`NoResponder` naming it when its handlers decline, a :class:`BusError` naming it when one raises. A
  server that is not on the bus, or does not handle the subject at all, is a :class:`NoResponder` naming it.

``close`` finishes delivering and answering what arrived (bounded), then the bus refuses new subscriptions and
requests (:class:`BusError`) and drops events.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from veche.bus.messages import BusMessage, BusRequest
from veche.metrics import BusRoundTrips

__all__ = [
    "Bus",
    "BusError",
    "EventHandler",
    "NoResponder",
    "RequestHandler",
    "UnexpectedReply",
    "declared_reply",
]

M = TypeVar("M", bound=BusMessage)
Q = TypeVar("Q", bound=BusRequest[Any])
R = TypeVar("R", bound=BusMessage)
EventHandler = Callable[[M], Awaitable[None]]
RequestHandler = Callable[[Q], Awaitable[BusMessage | None]]  # None: "not mine", the next handler is asked


class BusError(Exception):
    """The bus could not deliver a request or its answer."""


class NoResponder(BusError):
    """Nobody answers this request (for instance the conference is not running anywhere)."""


class UnexpectedReply(BusError):
    """A request was answered with another class than the reply it declares."""


def declared_reply(request_type: type[BusRequest[R]]) -> type[R]:
    """The reply class a request class declares, typed for the caller."""
    # reply_type is a ClassVar, which cannot carry the type parameter; BusRequest sets it from that parameter.
    return cast("type[R]", request_type.reply_type)


class Bus(abc.ABC):
    """Events to every subscriber, requests to the one handler that owns them (semantics: module docstring)."""

    @abc.abstractmethod
    async def publish(self, message: BusMessage) -> None:
        """Send an event to every subscriber of its subject; returns without waiting for them."""

    @abc.abstractmethod
    def subscribe(self, message_type: type[M], handler: EventHandler[M]) -> None:
        """Call ``handler`` with every event of this type, in order, from a task of its own."""

    @abc.abstractmethod
    def handle(self, message_type: type[Q], handler: RequestHandler[Q]) -> None:
        """Answer requests of this type. A handler returning None means "not mine": the next one is asked."""

    @abc.abstractmethod
    async def request(self, message: BusRequest[R], timeout_s: float = 2.0) -> R:
        """Ask the one server that answers; raises :class:`NoResponder` when none does."""

    @abc.abstractmethod
    async def publish_to(self, server_id: str, message: BusMessage) -> None:
        """Send an event to one server only."""

    @abc.abstractmethod
    async def request_to(self, server_id: str, message: BusRequest[R], timeout_s: float = 2.0) -> R:
        """Ask one server; :class:`NoResponder` naming it when it is not on the bus or declines."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Finish what arrived, then release connections."""

    @property
    def round_trips(self) -> BusRoundTrips:
        """The requests this bus sent, for /metrics (veche.metrics): made on first use, one per bus."""
        trips = getattr(self, "_round_trips", None)
        if trips is None:
            trips = self._round_trips = BusRoundTrips()
        return trips

    async def _timed(self, subject: str, call: Awaitable[R]) -> R:
        """Await a request, counting its round trip or its failure under its (unaddressed) subject."""
        started = time.perf_counter()
        try:
            reply = await call
        except NoResponder:
            self.round_trips.failed(subject, "no_responder")
            raise
        except BusError:
            self.round_trips.failed(subject, "error")
            raise
        self.round_trips.answered(subject, time.perf_counter() - started)
        return reply
