"""Stores every chat message said in a conference (the base role owns the history), and forgets old ones.

Retention: when a message is archived (or one of a direct/group chat is stored: base/chats/post_office.py) and the
last purge is an hour old (or there was none since start), the messages of every chat older than ``retention``
are deleted with one DELETE. No chat, no purge: nothing new is stored either.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from veche.bus.base import Bus
from veche.bus.messages import ChatPosted
from veche.domain.clock import Clock, utc_now
from veche.domain.room import ChatEntry
from veche.storage.conferences import ChatStore

__all__ = ["ChatArchive"]

logger = logging.getLogger(__name__)

PURGE_EVERY = timedelta(hours=1)


class ChatArchive:
    def __init__(
        self, bus: Bus, store: ChatStore, *, retention: timedelta | None = None, clock: Clock = utc_now
    ) -> None:
        """``retention``: how long messages are kept (None: forever)."""
        self._store = store
        self._retention = retention
        self._clock = clock
        self._last_purge: datetime | None = None
        bus.subscribe(ChatPosted, self._on_chat)

    async def _on_chat(self, message: ChatPosted) -> None:
        entry = ChatEntry(sender=message.sender, display_name=message.display_name, text=message.text, ts=message.ts)
        await self._store.add(message.conference_id, entry)
        await self.purge_if_due()

    async def purge_if_due(self) -> None:
        """Purge when the last purge is an hour old (called whenever a message of any chat is stored)."""
        now = self._clock()
        if self._retention is not None and (self._last_purge is None or now - self._last_purge >= PURGE_EVERY):
            self._last_purge = now
            try:
                await self.purge(now)
            except Exception:
                logger.exception("purging old chat messages failed (tried again in an hour)")

    async def purge(self, now: datetime) -> int:
        """Delete the messages older than the retention (none if messages are kept forever)."""
        if self._retention is None:
            return 0
        deleted = await self._store.delete_before(now - self._retention)
        if deleted:
            logger.info("deleted %d chat message(s) older than %s", deleted, self._retention)
        return deleted

    async def history(self, conference_id: int, limit: int = 100) -> list[ChatEntry]:
        return await self._store.recent(conference_id, limit)
