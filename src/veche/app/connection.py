"""A client's signaling connection as the room sees it: an ordered outbound queue per client.

Broadcasts never wait on a slow client: each connection has its own bounded queue drained by one writer task;
a client that falls 500 messages behind is disconnected (it reconnects and gets a fresh state).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["ClientConnection"]

logger = logging.getLogger(__name__)

QUEUE_LIMIT = 500


class ClientConnection:
    def __init__(
        self, send_text: Callable[[str], Awaitable[None]], close: Callable[[int, str], Awaitable[None]]
    ) -> None:
        self._send_text = send_text
        self._close = close
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_LIMIT)
        self._writer = asyncio.create_task(self._write())
        self.closed = False

    def send(self, message: dict[str, Any]) -> None:
        """Queue a message; never blocks."""
        if self.closed:
            return
        try:
            self._queue.put_nowait(json.dumps(message, separators=(",", ":")))
        except asyncio.QueueFull:
            logger.warning("client too slow, disconnecting")
            self.close_soon(1013, "too slow")

    def close_soon(self, code: int = 1000, reason: str = "") -> None:
        """Flush what is queued, then close the socket."""
        if self.closed:
            return
        self.closed = True
        self._close_args = (code, reason)
        try:
            self._queue.put_nowait(None)
        except asyncio.QueueFull:
            self._writer.cancel()
            asyncio.create_task(self._close_now(code, reason))

    async def _close_now(self, code: int, reason: str) -> None:
        await self._close(code, reason)

    async def _write(self) -> None:
        try:
            while True:
                item = await self._queue.get()
                if item is None:
                    await self._close(*self._close_args)
                    return
                await self._send_text(item)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the socket went away; the reader side notices and cleans up
            logger.debug("send failed: %s", e)
            self.closed = True

    async def aclose(self) -> None:
        self.closed = True
        self._writer.cancel()
