"""SIP over UDP and TCP on one port (RFC 3261 section 18), and TLS on another, on asyncio.

A datagram is one message. Over TCP a message is its header section (up to the empty line) and then exactly
Content-Length bytes; a head longer than the limit, or a missing or unreadable Content-Length, cannot be framed,
so it gets 400 (when its request line was readable) and the connection is closed. Every whole message goes to
``on_message`` with a function that sends bytes back to where it came from.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from typing import cast

from veche.app.sip.message import MalformedMessage, content_length, header_name, split_head

__all__ = ["MAX_CONNECTIONS", "OnMessage", "OnUnframed", "SipTransport"]

logger = logging.getLogger(__name__)

Reply = Callable[[bytes], None]
OnMessage = Callable[[bytes, Reply, bool, str], None]  # (message, reply, stream, the sender's address)
OnUnframed = Callable[[bytes, str, Reply], None]  # (what came, why it is no message, reply)
MAX_CONNECTIONS = 512
IDLE_TIMEOUT_S = 300.0


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, on_message: OnMessage) -> None:
        self._on_message = on_message
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        transport = self.transport
        if transport is None:
            return

        def reply(response: bytes) -> None:
            transport.sendto(response, addr)

        try:
            self._on_message(data, reply, False, str(addr[0]))
        except Exception:  # one bad datagram never stops the listener
            logger.exception("SIP datagram from %s could not be handled", addr[0])


class SipTransport:
    """Listens on ``host:port`` over UDP and TCP; ``port`` 0 takes a free port (the same one for both)."""

    def __init__(self, on_message: OnMessage, on_unframed: OnUnframed, *, max_message_bytes: int = 16_384) -> None:
        self._on_message = on_message
        self._on_unframed = on_unframed
        self._max_bytes = max_message_bytes
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tls: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        """Binds both; OSError (e.g. the port is taken) when either cannot be had, with nothing left open."""
        loop = asyncio.get_running_loop()
        for _ in range(5 if port == 0 else 1):
            udp, _protocol = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self._on_message), local_addr=(host, port)
            )
            chosen = int(udp.get_extra_info("sockname")[1])
            try:
                self._tcp = await asyncio.start_server(self._connection, host, chosen, reuse_address=True)
            except OSError:
                udp.close()
                if port != 0:
                    raise
                continue  # the free UDP port is taken over TCP: try another
            self._udp, self.port = udp, chosen
            return
        raise OSError("no port free over both UDP and TCP")

    async def start_tls(self, host: str, port: int, context: ssl.SSLContext) -> int:
        """SIP over TLS (RFC 3261 section 26.2) on ``port``: the same framing as TCP. Returns the port taken."""
        self._tls = await asyncio.start_server(
            self._connection, host, port, ssl=context, reuse_address=True, ssl_handshake_timeout=10.0
        )
        return int(self._tls.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        servers = [server for server in (self._tcp, self._tls) if server is not None]
        for server in servers:
            server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        for server in servers:
            await server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._connections) >= MAX_CONNECTIONS:
            writer.close()
            return
        self._connections.add(task)

        def reply(response: bytes) -> None:
            if not writer.is_closing():
                writer.write(response)

        peer = writer.get_extra_info("peername")
        try:
            await self._read_messages(reader, reply, str(peer[0]) if peer else "")
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _read_messages(self, reader: asyncio.StreamReader, reply: Reply, peer: str) -> None:
        buffer = b""
        while True:
            split = split_head(buffer.lstrip(b"\r\n"))
            if split is None:
                if len(buffer) > self._max_bytes:
                    self._refuse(buffer, "the header section is longer than the limit", reply)
                    return
                chunk = await asyncio.wait_for(reader.read(4096), IDLE_TIMEOUT_S)
                if not chunk:
                    if buffer.strip(b"\r\n"):
                        self._refuse(buffer, "the connection closed in the middle of a message", reply)
                    return
                buffer += chunk
                continue
            head, rest = split
            try:
                headers = _raw_headers(head)
                length = content_length(headers)
            except MalformedMessage as e:
                self._refuse(buffer, e.reason, reply)
                return
            if length is None:
                self._refuse(buffer, "Content-Length is required over TCP", reply)
                return
            if len(head) + 4 + length > self._max_bytes:
                self._refuse(buffer, "the message is longer than the limit", reply)
                return
            while len(rest) < length:
                chunk = await asyncio.wait_for(reader.read(4096), IDLE_TIMEOUT_S)
                if not chunk:
                    self._refuse(buffer, "the connection closed before the body's end", reply)
                    return
                rest += chunk
            self._on_message(head + b"\r\n\r\n" + rest[:length], reply, True, peer)
            buffer = rest[length:]

    def _refuse(self, data: bytes, reason: str, reply: Reply) -> None:
        """A message that cannot be framed: the listener answers what it can (400 or nothing); the connection
        closes after it, since where the next message would start is unknown."""
        logger.debug("SIP over TCP: %s", reason)
        self._on_unframed(data[: self._max_bytes], reason, reply)


def _raw_headers(head: bytes) -> list[tuple[str, str]]:
    text = head.decode("utf-8", errors="replace")
    headers: list[tuple[str, str]] = []
    for line in text.split("\r\n")[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers.append((header_name(name.strip()), value.strip()))
    return headers
