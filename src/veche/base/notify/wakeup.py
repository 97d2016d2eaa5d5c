"""Wakes the senders when something is queued: at once in the same process, over the bus from a server without the
base role (a web server storing a notice). A lost message only delays delivery until the senders' next poll."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from veche.bus.base import Bus
from veche.bus.messages import NotificationsQueued

__all__ = ["QueueWakeup"]

logger = logging.getLogger(__name__)


class QueueWakeup:
    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._sending: set[asyncio.Task[None]] = set()

    def mail_queued(self) -> None:
        self._announce(NotificationsQueued(mail=True))

    def push_queued(self) -> None:
        self._announce(NotificationsQueued(push=True))

    def listen(self, *, mail: Callable[[], None], push: Callable[[], None]) -> None:
        """On a base server: wake the mail and push senders when another server queued something."""

        async def heard(message: NotificationsQueued) -> None:
            if message.mail:
                mail()
            if message.push:
                push()

        self._bus.subscribe(NotificationsQueued, heard)

    def _announce(self, message: NotificationsQueued) -> None:
        task = asyncio.get_running_loop().create_task(self._publish(message))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _publish(self, message: NotificationsQueued) -> None:
        try:
            await self._bus.publish(message)
        except Exception as e:  # the senders poll anyway
            logger.info("could not announce queued notifications (delivered at the next poll): %s", e)
