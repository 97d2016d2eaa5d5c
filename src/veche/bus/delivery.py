"""How both buses hand events to a subscriber: its own queue, drained in order by its own task.

Neither :class:`~veche.bus.inproc.InProcessBus` nor :class:`~veche.bus.nats.NatsBus` awaits a subscriber where
the event arrives, so a publisher never waits for one, and a slow or failing subscriber holds up nobody else.
The task runs only while the queue has events: an idle bus has no tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Generic, TypeVar

from veche.bus.base import EventHandler
from veche.bus.envelope import MalformedMessage, decode_message
from veche.bus.messages import BusMessage

__all__ = ["SubscriberQueue"]

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BusMessage)


class SubscriberQueue(Generic[M]):
    """One subscription: the wire form of each event it has yet to get, and the task delivering them.

    The queue is unbounded: an event is never dropped for a slow subscriber (heartbeats and presence are small).
    """

    def __init__(self, message_type: type[M], handler: EventHandler[M]) -> None:
        self.message_type = message_type
        self._handler = handler
        self._pending: deque[bytes] = deque()
        self._task: asyncio.Task[None] | None = None

    def put(self, data: bytes) -> None:
        """Queue one event (its wire form); needs a running event loop."""
        self._pending.append(data)
        if not self.busy:
            self._task = asyncio.get_running_loop().create_task(self._deliver())

    @property
    def busy(self) -> bool:
        # done() too: a task cancelled before it started (its event loop closing) never ran its ``finally``.
        return self._task is not None and not self._task.done()

    async def wait_delivered(self, timeout_s: float | None = None) -> bool:
        """Wait until every event queued so far is delivered; False when that takes longer than ``timeout_s``."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        while self._task is not None and not self._task.done():
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return False
            # wait() rather than awaiting the task: a waiter that is cancelled must not cancel the delivery.
            await asyncio.wait({self._task}, timeout=left)
        return True

    def cancel(self) -> None:
        """Stop delivering and forget what is queued (the bus is closing)."""
        self._pending.clear()
        if self._task is not None:
            self._task.cancel()

    async def _deliver(self) -> None:
        try:
            while self._pending:
                data = self._pending.popleft()
                try:
                    message = decode_message(data, self.message_type)
                except MalformedMessage as exc:
                    logger.warning("dropped an unreadable %s event: %s", self.message_type.subject, exc)
                    continue
                try:
                    await self._handler(message)
                except Exception:
                    logger.exception("subscriber of %s failed", self.message_type.subject)
        finally:
            self._task = None
