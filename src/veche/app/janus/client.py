"""An asyncio client for the Janus WebSocket API (subprotocol ``janus-protocol``).

One :class:`JanusClient` holds one WebSocket. Requests carry a random ``transaction`` and wait on a
future for the matching reply; ``apisecret`` is added to every request. A :class:`JanusSession`
keeps itself alive and routes events to its :class:`JanusHandle` objects by ``sender``. When the
socket closes, every pending request fails with :class:`JanusConnectionLost` and the client's
``on_connection_lost`` callback runs once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.typing import Subprotocol

__all__ = [
    "JanusClient",
    "JanusConnectionLost",
    "JanusError",
    "JanusHandle",
    "JanusSession",
    "JanusTimeout",
    "PluginReply",
    "fetch_server_info",
]

logger = logging.getLogger(__name__)
# websockets logs frame contents at DEBUG, and every request carries the API secret: keep that logger
# at INFO even when the application turns DEBUG on.
_ws_logger = logging.getLogger(__name__ + ".ws")
_ws_logger.setLevel(logging.INFO)

JsonObject = dict[str, Any]
EventCallback = Callable[[JsonObject], None]

SUBPROTOCOL = "janus-protocol"


class JanusError(Exception):
    """Janus (core or plugin) answered a request with an error."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"Janus error {code}: {reason}")
        self.code = code
        self.reason = reason


class JanusConnectionLost(Exception):
    """The WebSocket to Janus is closed (or was never opened)."""


class JanusTimeout(Exception):
    """Janus did not answer a request in time."""


@dataclass(frozen=True)
class PluginReply:
    """What a plugin answered: its ``plugindata.data`` and the JSEP that came with it, if any."""

    data: JsonObject
    jsep: JsonObject | None = None


@dataclass
class _Pending:
    future: asyncio.Future[JsonObject]
    ack_is_reply: bool  # keepalive is answered by "ack"; plugin messages get "ack" then an "event"


def _new_transaction() -> str:
    return secrets.token_hex(8)


class JanusClient:
    """One WebSocket connection to Janus's API."""

    def __init__(
        self,
        url: str,
        *,
        api_secret: str | None,
        request_timeout: float = 10.0,
        on_connection_lost: Callable[[], None] | None = None,
    ) -> None:
        self.url = url
        self._api_secret = api_secret
        self.request_timeout = request_timeout
        self._on_connection_lost = on_connection_lost
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, _Pending] = {}
        self._sessions: dict[int, JanusSession] = {}
        self._closing = False

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._closing

    async def connect(self, timeout: float = 5.0) -> None:
        """Open the WebSocket; raises :class:`JanusConnectionLost` when Janus cannot be reached."""
        try:
            self._ws = await connect(
                self.url,
                subprotocols=[Subprotocol(SUBPROTOCOL)],
                open_timeout=timeout,
                max_size=None,
                compression=None,
                logger=_ws_logger,
            )
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise JanusConnectionLost(f"cannot connect to Janus at {self.url}: {exc}") from exc
        self._reader = asyncio.create_task(self._read_loop(self._ws), name="janus-ws-reader")

    async def close(self) -> None:
        """Close the socket without calling ``on_connection_lost``."""
        self._closing = True
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        self._fail_pending("connection to Janus closed")
        for session in list(self._sessions.values()):
            session._stop_keepalive()
        self._sessions.clear()

    async def request(
        self, message: JsonObject, *, timeout: float | None = None, ack_is_reply: bool = False
    ) -> JsonObject:
        """Send ``message`` and return Janus's reply; raises :class:`JanusError` on an error reply."""
        ws = self._ws
        if ws is None or self._closing:
            raise JanusConnectionLost("not connected to Janus")
        transaction = _new_transaction()
        payload = dict(message, transaction=transaction)
        if self._api_secret is not None:
            payload["apisecret"] = self._api_secret
        future: asyncio.Future[JsonObject] = asyncio.get_running_loop().create_future()
        self._pending[transaction] = _Pending(future, ack_is_reply)
        try:
            try:
                await ws.send(json.dumps(payload))
            except ConnectionClosed as exc:
                raise JanusConnectionLost("connection to Janus closed") from exc
            async with asyncio.timeout(timeout if timeout is not None else self.request_timeout):
                reply = await future
        except TimeoutError:
            raise JanusTimeout(f"Janus did not answer {message.get('janus')!r} in time") from None
        finally:
            self._pending.pop(transaction, None)
        if reply.get("janus") == "error":
            error = reply.get("error") or {}
            raise JanusError(int(error.get("code", 0)), str(error.get("reason", "unknown error")))
        return reply

    async def info(self) -> JsonObject:
        """The ``server_info`` reply (version, plugins, transports, ...)."""
        return await self.request({"janus": "info"})

    async def create_session(
        self, *, keepalive_interval: float = 25.0, on_timeout: Callable[[], None] | None = None
    ) -> JanusSession:
        reply = await self.request({"janus": "create"})
        session = JanusSession(self, int(reply["data"]["id"]), on_timeout=on_timeout)
        self._sessions[session.id] = session
        session._start_keepalive(keepalive_interval)
        return session

    def _forget_session(self, session_id: int) -> None:
        self._sessions.pop(session_id, None)

    async def _read_loop(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                try:
                    message = json.loads(raw)
                except ValueError:
                    logger.warning("ignoring a non-JSON message from Janus")
                    continue
                if isinstance(message, dict):
                    self._dispatch(message)
        except ConnectionClosed:
            pass
        except Exception:
            logger.exception("Janus WebSocket reader failed")
        if self._closing:
            return
        logger.warning("connection to Janus at %s lost", self.url)
        self._ws = None
        self._closing = True
        self._fail_pending("connection to Janus lost")
        for session in list(self._sessions.values()):
            session._stop_keepalive()
        self._sessions.clear()
        if self._on_connection_lost is not None:
            self._on_connection_lost()

    def _fail_pending(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        for item in pending.values():
            if not item.future.done():
                item.future.set_exception(JanusConnectionLost(reason))

    def _dispatch(self, message: JsonObject) -> None:
        kind = message.get("janus")
        transaction = message.get("transaction")
        pending = self._pending.get(transaction) if isinstance(transaction, str) else None
        if pending is not None and (kind != "ack" or pending.ack_is_reply):
            if not pending.future.done():
                pending.future.set_result(message)
            return
        if kind == "ack":
            return
        session = self._sessions.get(message.get("session_id", 0))
        if session is None:
            logger.debug("Janus event %r for an unknown session", kind)
            return
        session._dispatch(message)


class JanusSession:
    """A Janus session: the container of plugin handles, kept alive by periodic keepalives."""

    def __init__(self, client: JanusClient, session_id: int, *, on_timeout: Callable[[], None] | None) -> None:
        self.client = client
        self.id = session_id
        self._on_timeout = on_timeout
        self._handles: dict[int, JanusHandle] = {}
        self._keepalive: asyncio.Task[None] | None = None

    async def attach(self, plugin: str, *, on_event: EventCallback | None = None) -> JanusHandle:
        reply = await self.client.request({"janus": "attach", "session_id": self.id, "plugin": plugin})
        handle = JanusHandle(self, int(reply["data"]["id"]), on_event=on_event)
        self._handles[handle.id] = handle
        return handle

    async def destroy(self, *, timeout: float | None = None) -> None:
        self._stop_keepalive()
        try:
            await self.client.request({"janus": "destroy", "session_id": self.id}, timeout=timeout)
        finally:
            self._handles.clear()
            self.client._forget_session(self.id)

    def _forget_handle(self, handle_id: int) -> None:
        self._handles.pop(handle_id, None)

    def _start_keepalive(self, interval: float) -> None:
        self._keepalive = asyncio.create_task(self._keepalive_loop(interval), name=f"janus-keepalive-{self.id}")

    def _stop_keepalive(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None

    async def _keepalive_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.client.request({"janus": "keepalive", "session_id": self.id}, ack_is_reply=True)
            except JanusConnectionLost:
                return
            except (JanusError, JanusTimeout) as exc:
                logger.warning("Janus session keepalive failed: %s", exc)

    def _dispatch(self, message: JsonObject) -> None:
        kind = message.get("janus")
        if kind == "timeout":
            logger.warning("Janus session %s timed out", self.id)
            self._stop_keepalive()
            self._handles.clear()
            self.client._forget_session(self.id)
            if self._on_timeout is not None:
                self._on_timeout()
            return
        handle = self._handles.get(message.get("sender", 0))
        if handle is None:
            logger.debug("Janus event %r for an unknown handle", kind)
            return
        handle._dispatch(message)


@dataclass(eq=False)
class JanusHandle:
    """A handle attached to one plugin. Events without a waiting request go to ``on_event``."""

    session: JanusSession
    id: int
    on_event: EventCallback | None = field(default=None)

    async def message(
        self, body: JsonObject, *, jsep: JsonObject | None = None, timeout: float | None = None
    ) -> PluginReply:
        """Send ``body`` to the plugin; waits for the synchronous answer or the asynchronous event."""
        request: JsonObject = {
            "janus": "message",
            "session_id": self.session.id,
            "handle_id": self.id,
            "body": body,
        }
        if jsep is not None:
            request["jsep"] = jsep
        reply = await self.session.client.request(request, timeout=timeout)
        data = (reply.get("plugindata") or {}).get("data") or {}
        if "error_code" in data:
            raise JanusError(int(data["error_code"]), str(data.get("error", "unknown plugin error")))
        return PluginReply(data=data, jsep=reply.get("jsep"))

    async def detach(self, *, timeout: float | None = None) -> None:
        request = {"janus": "detach", "session_id": self.session.id, "handle_id": self.id}
        try:
            await self.session.client.request(request, timeout=timeout)
        finally:
            self.session._forget_handle(self.id)

    def _dispatch(self, message: JsonObject) -> None:
        if self.on_event is not None:
            try:
                self.on_event(message)
            except Exception:
                logger.exception("Janus handle event callback failed")


async def fetch_server_info(url: str, *, api_secret: str | None, timeout: float) -> JsonObject:
    """Connect, ask ``info`` once and disconnect (used to probe a freshly started Janus)."""
    client = JanusClient(url, api_secret=api_secret, request_timeout=timeout)
    await client.connect(timeout=timeout)
    try:
        return await client.info()
    finally:
        await client.close()
