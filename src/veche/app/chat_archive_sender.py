"""The app server's half of the conference chat archive: every chat post, sent to base until acknowledged.

The people in the call see a message at once (the room broadcasts it); the archive is a request
(:class:`~veche.bus.archive_messages.ArchiveChatPost`) that a base server answers once the post is stored. A post
that base does not acknowledge — the bus is reconnecting to another NATS node, base is restarting, the database is
switching over — stays here and is sent again every second until one does. Posts go one at a time, oldest first:
the history has them in the order they were said. Each post carries a random id: the base
servers store it once however many times it is sent (base/chat_archive.py).

What is not acknowledged lives in this process's memory, at most :data:`MAX_PENDING` posts (the oldest go first,
with a warning): an app server that dies loses them.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict

from veche.bus.archive_messages import ArchiveChatPost
from veche.bus.base import Bus, BusError
from veche.domain.room import ChatEntry

__all__ = ["ChatArchiveSender"]

logger = logging.getLogger(__name__)

MAX_PENDING = 10_000  # posts kept for a resend; beyond, the oldest are dropped
BATCH = 50  # posts sent one after the other per round (the first failure ends the round)
REQUEST_TIMEOUT_S = 2.0
FLUSH_ON_STOP_S = 2.0  # how long a stopping server tries to hand its last posts over


class ChatArchiveSender:
    def __init__(self, bus: Bus, *, retry_s: float = 1.0, max_pending: int = MAX_PENDING) -> None:
        self._bus = bus
        self._retry_s = retry_s
        self._max_pending = max_pending
        self._pending: OrderedDict[str, ArchiveChatPost] = OrderedDict()  # post id -> the post, oldest first
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.acknowledged = 0  # posts base acknowledged (for tests and logs)
        self.dropped = 0  # posts given up because too many were waiting

    @property
    def pending(self) -> int:
        """Posts base has not acknowledged yet."""
        return len(self._pending)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._deliver())

    async def stop(self) -> None:
        """Stop resending; try, briefly, to hand what is left to base."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        deadline = time.monotonic() + FLUSH_ON_STOP_S
        while self._pending and time.monotonic() < deadline:
            if not await self._send_some(timeout_s=max(0.1, deadline - time.monotonic())):
                break
        if self._pending:
            logger.warning("stopping with %d chat message(s) the archive did not acknowledge", len(self._pending))

    async def post(self, conference_id: int, entry: ChatEntry) -> None:
        """Queue a chat message for the archive (never waits for base); the room's ``chat_sink``."""
        post = ArchiveChatPost(
            post_id=secrets.token_hex(12),
            conference_id=conference_id,
            sender=entry.sender,
            display_name=entry.display_name,
            text=entry.text,
            ts=entry.ts,
        )
        self._pending[post.post_id] = post
        while len(self._pending) > self._max_pending:
            self._pending.popitem(last=False)
            self.dropped += 1
            if self.dropped % 1000 == 1:
                logger.warning("chat archive: %d message(s) dropped, base has not answered for long", self.dropped)
        self._wake.set()
        self.start()

    async def _deliver(self) -> None:
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            if not await self._send_some(timeout_s=REQUEST_TIMEOUT_S):
                await asyncio.sleep(self._retry_s)  # base or the bus is away: again in a moment

    async def _send_some(self, *, timeout_s: float) -> bool:
        """Send the oldest posts one at a time, in order (the history keeps the order they are stored in); True when
        base acknowledged them all, False at the first it did not (it goes first again)."""
        for post in list(self._pending.values())[:BATCH]:
            if not await self._send(post, timeout_s):
                return False
        return True

    async def _send(self, post: ArchiveChatPost, timeout_s: float) -> bool:
        try:
            reply = await self._bus.request(post, timeout_s=timeout_s)
        except BusError as e:
            logger.debug("chat archive: post %s not taken: %s", post.post_id, e)
            return False
        if not reply.ok and reply.code == "invalid":  # never storable: sending it again would not help
            logger.warning("chat archive: post %s refused for good: %s", post.post_id, reply.message)
            self._pending.pop(post.post_id, None)
            return True
        if not reply.ok:
            logger.info("chat archive: post %s refused: %s", post.post_id, reply.message)
            return False
        if self._pending.pop(post.post_id, None) is not None:
            self.acknowledged += 1
        return True
