"""The in-process bus of `veche up`: the :class:`Bus` semantics of NATS within one process.

Messages cross in their wire form (encoded, then decoded for each receiver), events are queued per subscriber
(:mod:`veche.bus.delivery`) and each request is answered in a task of its own, as on NATS, so what works in
`veche up` works in a cluster. This process is the whole bus: a request that every handler declines fails at
once, where NATS waits for the timeout in case another process answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from veche.bus.base import Bus, BusError, EventHandler, M, NoResponder, Q, R, RequestHandler
from veche.bus.delivery import SubscriberQueue
from veche.bus.envelope import (
    Fault,
    FaultKind,
    addressed_subject,
    decode_message,
    decode_reply,
    encode_fault,
    encode_message,
)
from veche.bus.messages import BusMessage, BusRequest

__all__ = ["InProcessBus"]

logger = logging.getLogger(__name__)

_Handlers = Sequence[tuple[type[BusRequest[Any]], RequestHandler[Any]]]


class InProcessBus(Bus):
    """:class:`Bus` within one process; ``server_id`` is the one server ``publish_to``/``request_to`` reach."""

    def __init__(self, server_id: str = "", *, drain_timeout_s: float = 5.0) -> None:
        self._server_id = server_id
        self._sender = server_id or "anonymous"
        self._drain_timeout_s = drain_timeout_s
        self._subscribers: dict[str, list[SubscriberQueue[Any]]] = {}
        self._handlers: dict[str, list[tuple[type[BusRequest[Any]], RequestHandler[Any]]]] = {}
        self._handling: set[asyncio.Task[bytes | None]] = set()
        self._closed = False

    # -- events ---------------------------------------------------------------------------------

    async def publish(self, message: BusMessage) -> None:
        data = encode_message(message)  # outside any guard: a message that cannot be encoded is a bug
        if self._closed:
            logger.debug("bus closed: dropped %s", message.subject)
            return
        for subscriber in self._subscribers.get(message.subject, ()):
            subscriber.put(data)

    async def publish_to(self, server_id: str, message: BusMessage) -> None:
        addressed_subject(message.subject, server_id)  # the same server ids as on NATS
        if server_id == self._server_id:
            await self.publish(message)

    def subscribe(self, message_type: type[M], handler: EventHandler[M]) -> None:
        self._check_open()
        self._subscribers.setdefault(message_type.subject, []).append(SubscriberQueue(message_type, handler))

    async def wait_delivered(self, timeout_s: float = 5.0) -> None:
        """Wait until every event published so far, and every event their subscribers published in turn, is
        delivered. For tests that cannot name the state they wait for; prefer ``eventually`` otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while busy := [s for queues in self._subscribers.values() for s in queues if s.busy]:
            for subscriber in busy:
                if not await subscriber.wait_delivered(max(0.0, deadline - loop.time())):
                    raise TimeoutError(f"events still undelivered after {timeout_s:g} s")

    # -- requests -------------------------------------------------------------------------------

    def handle(self, message_type: type[Q], handler: RequestHandler[Q]) -> None:
        self._check_open()
        self._handlers.setdefault(message_type.subject, []).append((message_type, handler))

    async def request(self, message: BusRequest[R], timeout_s: float = 2.0) -> R:
        return await self._timed(message.subject, self._request(message, timeout_s, target=None))

    async def request_to(self, server_id: str, message: BusRequest[R], timeout_s: float = 2.0) -> R:
        addressed_subject(message.subject, server_id)
        if server_id != self._server_id:
            raise NoResponder(f"Server {server_id} is not on the bus: nobody receives {message.subject}.")
        return await self._timed(message.subject, self._request(message, timeout_s, target=server_id))

    async def close(self) -> None:
        """Finish delivering and answering what arrived (at most ``drain_timeout_s``), then refuse more."""
        if self._closed:
            return
        self._closed = True
        subscribers = [s for queues in self._subscribers.values() for s in queues]
        waits = [asyncio.ensure_future(s.wait_delivered()) for s in subscribers]
        pending = {*waits, *self._handling}
        if pending:
            await asyncio.wait(pending, timeout=self._drain_timeout_s)
        for subscriber in subscribers:
            subscriber.cancel()
        for task in (*waits, *self._handling):
            task.cancel()

    # -- internals ------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise BusError("The bus is closed.")

    async def _request(self, message: BusRequest[R], timeout_s: float, target: str | None) -> R:
        self._check_open()
        subject = message.subject
        handlers = list(self._handlers.get(subject, ()))
        if not handlers:
            if target:
                raise NoResponder(f"Server {target} is not on the bus: nobody receives {subject}.")
            raise NoResponder(f"No server answers {subject}: nobody handles it.")
        # Its own task, as a request on NATS: the requester's timeout does not cancel the handler.
        task = asyncio.get_running_loop().create_task(self._answer(handlers, encode_message(message)))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)
        done, _ = await asyncio.wait({task}, timeout=timeout_s)
        if not done:
            who, verb = (f"Server {target}", "did not answer") if target else ("No server", "answered")
            raise NoResponder(f"{who} {verb} {subject} within {timeout_s:g} s.")
        data = task.result()
        if data is None:
            if target:
                raise NoResponder(f"Server {target} does not handle this {subject}.")
            raise NoResponder(f"No server answers {subject}.")
        reply = decode_reply(data, type(message))
        if isinstance(reply, Fault):
            if target:
                raise BusError(f"Server {target} failed to handle {subject}: {reply.detail}")
            raise BusError(f"{subject} failed: {reply.sender}: {reply.detail}")
        return reply

    async def _answer(self, handlers: _Handlers, data: bytes) -> bytes | None:
        """The wire form of the first handler's answer, a fault when one raises, None when all decline."""
        subject = handlers[0][0].subject
        try:
            for message_type, handler in handlers:
                reply = await handler(decode_message(data, message_type))
                if reply is not None:
                    return encode_message(reply)
        except Exception as exc:
            logger.exception("handler of %s failed", subject)
            return encode_fault(FaultKind.FAILED, self._sender, f"{type(exc).__name__}: {exc}")
        return None
