"""The cluster bus: the :class:`Bus` interface over NATS core pub/sub (no JetStream, no KV watchers).

The semantics are those of :mod:`veche.bus.base`, shared with :class:`~veche.bus.inproc.InProcessBus`. On NATS:

- ``publish`` reaches every subscriber of the message's subject in every process (this one included); each
  arriving event is queued for each local subscriber (:mod:`veche.bus.delivery`), never awaited in NATS's
  callback.
- ``request`` reaches every process that handles the subject; each asks its local handlers in order and
  replies with the first non-``None`` answer; a process whose handlers all return ``None`` stays silent
  ("not mine"). The requester takes the first real answer and raises :class:`NoResponder` when none
  arrives within the timeout, or at once when NATS reports that nobody listens on the subject. A handler
  that raises sends a fault; ``request`` still waits for another server's answer and raises
  :class:`BusError` with the failures when none comes. A reply of another class than the request declares
  raises :class:`~veche.bus.base.UnexpectedReply` at once.

Addressing one server: a bus built with ``server_id`` also listens on ``<subject>.to.<server_id>`` for every
subject it subscribes to or handles; :meth:`NatsBus.publish_to` and :meth:`NatsBus.request_to` send there.
An addressed server always replies: the answer, or a fault when its handlers decline or fail, so
``request_to`` a live server never waits for the timeout: a decline is a :class:`NoResponder`, a failure a
:class:`BusError`, each naming the server; ``request_to`` a dead one fails with a :class:`NoResponder` naming it.

The connection reconnects forever, to any server of the list (and those the cluster announces). While NATS
is away, publishes are dropped (debug log) and requests raise :class:`BusDisconnected` at once; a request
waiting for its answer when the connection drops fails with :class:`BusDisconnected` then (its answer may be
lost with the node), not at its timeout. Subscriptions come back by themselves after the reconnect.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from veche.bus.base import Bus, BusError, EventHandler, M, NoResponder, Q, R, RequestHandler, UnexpectedReply
from veche.bus.delivery import SubscriberQueue
from veche.bus.envelope import (
    Fault,
    FaultKind,
    MalformedMessage,
    addressed_subject,
    decode_message,
    decode_reply,
    encode_fault,
    encode_message,
)
from veche.bus.messages import BusMessage, BusRequest

__all__ = ["BusDisconnected", "NatsBus", "addressed_subject"]

logger = logging.getLogger(__name__)

_NO_RESPONDERS = "503"
_QUIET_ERRORS = (
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionDrainingError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
)


class BusDisconnected(BusError):
    """NATS is not reachable right now; the bus keeps reconnecting by itself."""


@dataclass
class _PendingRequest:
    """A request waiting for its first real answer."""

    future: asyncio.Future[BusMessage]
    request_type: type[BusRequest[Any]]
    addressed: bool
    failures: list[str] = field(default_factory=list)


class NatsBus(Bus):
    """:class:`Bus` over one NATS connection. Build it with :meth:`connect`."""

    def __init__(self, client: Client, *, server_id: str | None, drain_timeout_s: float) -> None:
        if server_id is not None:
            addressed_subject("check", server_id)
        self._nc = client
        self._server_id = server_id
        self._sender = server_id or "anonymous"
        self._drain_timeout_s = drain_timeout_s
        self._connected = asyncio.Event()
        self._closed = False
        self._connect_task: asyncio.Task[None] | None = None
        self._event_handlers: dict[str, list[SubscriberQueue[Any]]] = {}
        self._request_handlers: dict[str, list[RequestHandler[Any]]] = {}
        self._subscriptions: list[Subscription] = []
        self._setting_up: set[asyncio.Task[None]] = set()
        self._handling: set[asyncio.Task[None]] = set()
        self._reply_prefix = f"_INBOX.{secrets.token_hex(12)}."
        self._reply_subscription: asyncio.Task[None] | None = None
        self._pending: dict[str, _PendingRequest] = {}

    @classmethod
    async def connect(
        cls,
        servers: str | Sequence[str],
        *,
        server_id: str | None = None,
        name: str | None = None,
        first_connect_wait_s: float = 5.0,
        reconnect_wait_s: float = 0.5,
        ping_interval_s: int = 5,
        drain_timeout_s: float = 5.0,
    ) -> NatsBus:
        """Connect to NATS and keep reconnecting forever.

        Returns once connected, or after ``first_connect_wait_s`` with the bus still trying in the
        background (it then behaves as during any outage). ``server_id`` makes this process addressable;
        ``ping_interval_s`` bounds how long a silently broken connection goes unnoticed (two missed pings).
        """
        bus = cls(Client(), server_id=server_id, drain_timeout_s=drain_timeout_s)
        # A string may list several servers, comma separated, as bus.url does.
        urls = [p.strip() for p in servers.split(",") if p.strip()] if isinstance(servers, str) else list(servers)
        bus._connect_task = asyncio.create_task(
            bus._nc.connect(
                servers=urls,
                name=name or server_id,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=reconnect_wait_s,  # type: ignore[arg-type]  # annotated int, used as float
                ping_interval=ping_interval_s,
                max_outstanding_pings=2,
                drain_timeout=max(1, round(drain_timeout_s)),
                error_cb=bus._on_error,
                disconnected_cb=bus._on_disconnected,
                reconnected_cb=bus._on_reconnected,
            )
        )
        bus._connect_task.add_done_callback(bus._on_first_connect)
        if not await bus.wait_connected(first_connect_wait_s):
            logger.warning("NATS at %s not reachable yet; the bus keeps trying in the background", ", ".join(urls))
        return bus

    @property
    def server_id(self) -> str | None:
        return self._server_id

    @property
    def is_connected(self) -> bool:
        return self._connected.is_set() and self._nc.is_connected

    @property
    def connected_server(self) -> str | None:
        """The ``host:port`` of the NATS server this connection is on now; None while disconnected."""
        url = self._nc.connected_url
        return url.netloc if url is not None and self.is_connected else None

    @property
    def known_servers(self) -> list[str]:
        """Every NATS server this connection may use: the configured ones and those the cluster announced."""
        return [url.netloc for url in self._nc.servers]

    async def wait_connected(self, timeout_s: float) -> bool:
        """Wait until the connection is up; False when it is not within ``timeout_s``."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def flush(self, timeout_s: float = 2.0) -> None:
        """Wait until every subscription made so far is known to the NATS server."""
        await self._settle(timeout_s)
        if not self.is_connected:
            raise BusDisconnected("Not connected to NATS.")
        await self._nc.flush(timeout=max(1, round(timeout_s)))

    # -- events ---------------------------------------------------------------------------------

    async def publish(self, message: BusMessage) -> None:
        await self._send(message.subject, message)

    async def publish_to(self, server_id: str, message: BusMessage) -> None:
        """Send an event to the subscribers of one server only."""
        await self._send(addressed_subject(message.subject, server_id), message)

    def subscribe(self, message_type: type[M], handler: EventHandler[M]) -> None:
        if self._closed:
            raise BusError("The bus is closed.")
        subscribers = self._event_handlers.setdefault(message_type.subject, [])
        subscribers.append(SubscriberQueue(message_type, handler))
        if len(subscribers) == 1:
            self._listen(message_type, self._on_event)

    # -- requests -------------------------------------------------------------------------------

    def handle(self, message_type: type[Q], handler: RequestHandler[Q]) -> None:
        if self._closed:
            raise BusError("The bus is closed.")
        handlers = self._request_handlers.setdefault(message_type.subject, [])
        handlers.append(handler)
        if len(handlers) == 1:
            self._listen(message_type, self._on_request)

    async def request(self, message: BusRequest[R], timeout_s: float = 2.0) -> R:
        return await self._timed(message.subject, self._request(message.subject, message, timeout_s, target=None))

    async def request_to(self, server_id: str, message: BusRequest[R], timeout_s: float = 2.0) -> R:
        """Ask one server; :class:`NoResponder` names it when it is not on the bus, silent, or declines."""
        subject = addressed_subject(message.subject, server_id)
        return await self._timed(message.subject, self._request(subject, message, timeout_s, server_id))

    async def close(self) -> None:
        """Finish handling what arrived, send the replies, then close the connection."""
        if self._closed:
            return
        self._closed = True
        for task in (*self._setting_up, self._connect_task, self._reply_subscription):
            if task is not None and not task.done():
                task.cancel()
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(BusError("The bus is closing."))
        if self.is_connected:
            try:
                await asyncio.wait_for(self._drain(), self._drain_timeout_s)
            except (TimeoutError, nats.errors.Error) as exc:
                logger.warning("draining the NATS connection failed: %r", exc)
        for task in self._handling:
            task.cancel()
        for subscribers in self._event_handlers.values():
            for subscriber in subscribers:
                subscriber.cancel()
        if not self._nc.is_closed:
            try:
                await self._nc.close()
            except (nats.errors.Error, OSError, AssertionError) as exc:
                logger.debug("closing the NATS connection: %r", exc)

    # -- internals ------------------------------------------------------------------------------

    async def _send(self, subject: str, message: BusMessage) -> None:
        data = encode_message(message)  # outside the try: a message that cannot be encoded is a bug
        if self._setting_up and self.is_connected:
            await self._settle()
        if not self.is_connected:
            logger.debug("NATS disconnected: dropped %s", subject)
            return
        try:
            await self._nc.publish(subject, data)
        except _QUIET_ERRORS as exc:
            logger.debug("NATS disconnected: dropped %s (%r)", subject, exc)
        except nats.errors.Error:
            logger.warning("publishing %s failed", subject, exc_info=True)

    async def _request(self, subject: str, message: BusRequest[R], timeout_s: float, target: str | None) -> R:
        who = f"Server {target}" if target else "No server"
        if self._closed:
            raise BusError("The bus is closed.")
        if not self.is_connected:
            raise BusDisconnected(f"Not connected to NATS: cannot send {message.subject}.")
        await self._settle(timeout_s)
        try:
            await asyncio.wait_for(self._ensure_reply_subscription(), timeout_s)
        except TimeoutError:
            raise BusDisconnected(f"Lost NATS while sending {message.subject}.") from None
        token = secrets.token_hex(8)
        pending = _PendingRequest(
            asyncio.get_running_loop().create_future(), request_type=type(message), addressed=target is not None
        )
        self._pending[token] = pending
        try:
            await self._nc.publish(subject, encode_message(message), reply=self._reply_prefix + token)
            # decode_reply checked the class against the request's declared reply (see _on_reply).
            return cast("R", await asyncio.wait_for(pending.future, timeout_s))
        except _QUIET_ERRORS as exc:
            raise BusDisconnected(f"Lost NATS while sending {message.subject}: {exc!r}") from exc
        except _ConnectionLost:
            raise BusDisconnected(f"Lost NATS while waiting for the answer to {message.subject}.") from None
        except _Failed as exc:
            raise BusError(f"Server {target} failed to handle {message.subject}: {exc.detail}") from None
        except TimeoutError:
            if pending.failures:
                raise BusError(f"{message.subject} failed: {'; '.join(pending.failures)}") from None
            verb = "did not answer" if target else "answered"
            raise NoResponder(f"{who} {verb} {message.subject} within {timeout_s:g} s.") from None
        except _NobodyListens:
            if target:
                raise NoResponder(f"Server {target} is not on the bus: nobody receives {message.subject}.") from None
            raise NoResponder(f"No server answers {message.subject}: nobody handles it.") from None
        except _Declined as exc:
            raise NoResponder(f"Server {target} does not handle this {message.subject}{exc.detail}.") from None
        except nats.errors.Error as exc:
            raise BusError(f"Sending {message.subject} failed: {exc!r}") from exc
        finally:
            self._pending.pop(token, None)

    def _listen(self, message_type: type[M], callback: Callable[[type[M], Msg], Awaitable[None]]) -> None:
        if self._closed:
            raise BusError("The bus is closed.")
        subjects = [message_type.subject]
        if self._server_id is not None:
            subjects.append(addressed_subject(message_type.subject, self._server_id))

        async def deliver(msg: Msg) -> None:
            await callback(message_type, msg)

        for subject in subjects:
            task = asyncio.get_running_loop().create_task(self._subscribe_when_connected(subject, deliver))
            self._setting_up.add(task)
            task.add_done_callback(self._setting_up.discard)

    async def _subscribe_when_connected(self, subject: str, deliver: Callable[[Msg], Awaitable[None]]) -> None:
        await self._connected.wait()
        # nats-py re-sends every subscription after a reconnect: this is done once.
        self._subscriptions.append(await self._nc.subscribe(subject, cb=deliver))

    async def _settle(self, timeout_s: float = 1.0) -> None:
        # Bounded: if NATS drops meanwhile, a publish must not wait for the reconnect.
        if self._setting_up:
            await asyncio.wait(set(self._setting_up), timeout=timeout_s)

    async def _on_event(self, message_type: type[M], msg: Msg) -> None:
        if msg.reply:
            return  # a request: for the handlers, not the subscribers (as in the in-process bus)
        # Queued, not awaited: a slow subscriber must hold up neither the others nor NATS's reading.
        for subscriber in self._event_handlers.get(message_type.subject, ()):
            subscriber.put(msg.data)

    async def _on_request(self, message_type: type[M], msg: Msg) -> None:
        if not msg.reply:
            return  # a published event: for the subscribers
        # One task per request, so a slow handler does not hold up the next request of its subject.
        task = asyncio.get_running_loop().create_task(self._answer(message_type, msg))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _answer(self, message_type: type[M], msg: Msg) -> None:
        addressed = msg.subject != message_type.subject
        try:
            message = decode_message(msg.data, message_type)
            for handler in list(self._request_handlers.get(message_type.subject, ())):
                reply = await handler(message)
                if reply is not None:
                    await self._reply(msg.reply, encode_message(reply))
                    return
        except Exception as exc:
            logger.exception("handler of %s failed", message_type.subject)
            await self._reply(msg.reply, encode_fault(FaultKind.FAILED, self._sender, f"{type(exc).__name__}: {exc}"))
            return
        if addressed:
            await self._reply(msg.reply, encode_fault(FaultKind.DECLINED, self._sender))

    async def _reply(self, inbox: str, data: bytes) -> None:
        try:
            await self._nc.publish(inbox, data)
        except nats.errors.Error as exc:
            logger.debug("could not reply on %s: %r", inbox, exc)

    async def _ensure_reply_subscription(self) -> None:
        if self._reply_subscription is None:
            self._reply_subscription = asyncio.get_running_loop().create_task(
                self._subscribe_when_connected(self._reply_prefix + "*", self._on_reply)
            )
        await asyncio.shield(self._reply_subscription)

    async def _on_reply(self, msg: Msg) -> None:
        pending = self._pending.get(msg.subject.removeprefix(self._reply_prefix))
        if pending is None or pending.future.done():
            return  # a later answer, or one that came after the timeout
        if msg.headers and msg.headers.get("Status") == _NO_RESPONDERS:
            pending.future.set_exception(_NobodyListens())
            return
        try:
            reply = decode_reply(msg.data, pending.request_type)
        except UnexpectedReply as exc:
            pending.future.set_exception(exc)
            return
        except MalformedMessage as exc:
            pending.failures.append(f"unreadable reply: {exc}")
            return
        if isinstance(reply, Fault):
            self._take_fault(pending, reply)
        else:
            pending.future.set_result(reply)

    @staticmethod
    def _take_fault(pending: _PendingRequest, fault: Fault) -> None:
        if fault.fault is FaultKind.DECLINED:
            pending.future.set_exception(_Declined(fault.detail))
        elif pending.addressed:
            pending.future.set_exception(_Failed(fault.detail))
        else:
            # Keep waiting: another server may still give a real answer before the timeout.
            pending.failures.append(f"{fault.sender}: {fault.detail}")

    async def _drain(self) -> None:
        # Stop new deliveries but finish what arrived; already closed subscriptions just report an error.
        await asyncio.gather(*(s.drain() for s in self._subscriptions), return_exceptions=True)
        if self._handling:
            await asyncio.gather(*self._handling, return_exceptions=True)
        for subscribers in self._event_handlers.values():
            for subscriber in subscribers:
                await subscriber.wait_delivered()
        await self._nc.drain()

    def _on_first_connect(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        if task.exception() is not None:
            logger.error("NATS connection failed for good: %r", task.exception())
            return
        logger.info("connected to NATS at %s", self._nc.connected_url.netloc if self._nc.connected_url else "?")
        self._connected.set()

    async def _on_error(self, exc: Exception) -> None:
        logger.debug("NATS: %r", exc)

    async def _on_disconnected(self) -> None:
        if self._connected.is_set() and not self._closed:
            logger.warning("lost the NATS connection; reconnecting (events are dropped meanwhile)")
        self._connected.clear()
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(_ConnectionLost())

    async def _on_reconnected(self) -> None:
        logger.info("reconnected to NATS")
        self._connected.set()


class _ConnectionLost(Exception):
    """The connection dropped while the request waited: its answer, if any, went with the node."""


class _NobodyListens(Exception):
    """NATS answered the request with status 503: no subscription matches its subject."""


class _Declined(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = f": {detail}" if detail else ""


class _Failed(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
