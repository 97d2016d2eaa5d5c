"""Hands stored chat messages to open pages (web role): each page follows its user's chats from a message id.

A page's stream first reads what it missed from the database (ids above the one it names), then takes messages
as the base role announces them (:class:`ChatMessageStored`, in the order they were stored). Streams are short
(the API ends them after ``wait_s``; the browser reconnects naming the last id it got), so an announcement lost
while the bus was away costs at most one stream's delay, never a message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from veche.base.chats.wire import from_wire
from veche.bus.base import Bus
from veche.bus.chat_messages import ChatMessageStored
from veche.domain.chat_access import ChatRef
from veche.storage.chats import ChatStore, StoredMessage

__all__ = ["ChatDelivery"]

logger = logging.getLogger(__name__)

CATCH_UP_BATCH = 100
CATCH_UP_BATCHES = 10  # at most this many batches per stream
QUEUE_LIMIT = 1000  # a page this far behind ends its stream and catches up from the database


class ChatDelivery:
    def __init__(self, bus: Bus, store: ChatStore) -> None:
        self._store = store
        # "user:<id>" (his direct and group chats) or a chat's key ("conference:<id>") -> the open streams
        self._followers: dict[str, set[asyncio.Queue[StoredMessage | None]]] = {}
        self._closed = False
        bus.subscribe(ChatMessageStored, self._on_stored)

    @property
    def followers(self) -> int:
        return sum(len(q) for q in self._followers.values())

    async def follow(self, user_id: int, after: int | None, *, wait_s: float) -> AsyncIterator[StoredMessage]:
        """Messages of the user's direct and group chats with ids above ``after`` (None: from now on), oldest
        first, for up to ``wait_s`` seconds after the last catching up."""

        async def missed(cursor: int) -> list[StoredMessage]:
            return await self._store.for_member_after(user_id, cursor, limit=CATCH_UP_BATCH)

        async for message in self._follow(f"user:{user_id}", missed, after, wait_s):
            yield message

    async def follow_chat(self, chat: ChatRef, after: int | None, *, wait_s: float) -> AsyncIterator[StoredMessage]:
        """The same for one chat (a conference page follows its conference's chat: files posted to it)."""

        async def missed(cursor: int) -> list[StoredMessage]:
            return await self._store.after_in_chat(chat, cursor, limit=CATCH_UP_BATCH)

        async for message in self._follow(chat.key, missed, after, wait_s):
            yield message

    async def _follow(
        self,
        key: str,
        missed: Callable[[int], Awaitable[list[StoredMessage]]],
        after: int | None,
        wait_s: float,
    ) -> AsyncIterator[StoredMessage]:
        # "Now" is read before listening: a message stored in between is in the database, read below.
        cursor = after if after is not None else await self._store.newest_id()
        queue: asyncio.Queue[StoredMessage | None] = asyncio.Queue(QUEUE_LIMIT)
        self._followers.setdefault(key, set()).add(queue)
        try:
            for _ in range(CATCH_UP_BATCHES):  # what the page missed, from the database
                batch = await missed(cursor)
                for message in batch:
                    cursor = message.id
                    yield message
                if len(batch) < CATCH_UP_BATCH:
                    break
            else:
                return  # far behind: this stream ends, the page reconnects from its last id and reads on
            loop = asyncio.get_running_loop()
            deadline = loop.time() + wait_s
            while not self._closed:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return
                if not queue.empty():  # no timer for what is already there (a busy chat)
                    announced = queue.get_nowait()
                else:
                    try:
                        announced = await asyncio.wait_for(queue.get(), remaining)
                    except TimeoutError:
                        return
                if announced is None:
                    return  # overflowed or closing: the page reconnects and catches up
                if announced.id > cursor:
                    cursor = announced.id
                    yield announced
        finally:
            queues = self._followers.get(key)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self._followers[key]

    def close(self) -> None:
        """End every stream (the pages reconnect to another web server or after the restart)."""
        self._closed = True
        for queues in self._followers.values():
            for queue in queues:
                self._end(queue)

    async def _on_stored(self, event: ChatMessageStored) -> None:
        if not self._followers:
            return
        message = from_wire(event.message)
        keys = [f"user:{u}" for u in event.member_ids] + [event.message.chat]
        for key in keys:
            for queue in self._followers.get(key, ()):
                try:
                    queue.put_nowait(message)
                except asyncio.QueueFull:
                    self._end(queue)

    @staticmethod
    def _end(queue: asyncio.Queue[StoredMessage | None]) -> None:
        try:
            queue.put_nowait(None)
        except asyncio.QueueFull:
            queue.get_nowait()
            queue.put_nowait(None)
