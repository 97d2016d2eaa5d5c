"""Stores every chat message said in a conference (the base role owns the history), and forgets old ones.

Retention: when a message is archived (or one of a direct/group chat is stored: base/chats/post_office.py) and the
last purge is an hour old (or there was none since start), the messages of every chat older than ``retention``
are deleted with one DELETE. No chat, no purge: nothing new is stored either.

Acknowledged archiving: app servers send each post as an :class:`~veche.bus.archive_messages.ArchiveChatPost`
request and resend it until a base server answers ``ok`` (app/chat_archive_sender.py). Every base server hears the
request; the one that claims the post's id stores it (base/work_once.py) and answers, the others decline — unless
the post is stored already (a resend whose answer was lost): then any of them says so. A store that fails answers
``ok=False`` and the app server sends the post again. The ``ChatPosted`` event (not acknowledged) is still
archived, for app servers of an earlier version.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from veche.base.work_once import WorkOnce, work_key
from veche.bus.archive_messages import ArchiveChatPost
from veche.bus.base import Bus
from veche.bus.messages import BusMessage, ChatPosted, CommandResult
from veche.domain.clock import Clock, utc_now
from veche.domain.errors import InvalidInput
from veche.domain.room import ChatEntry
from veche.storage.chat_posts import ConferenceChatPosts
from veche.storage.conferences import ChatStore
from veche.storage.unavailable import DatabaseOutageLog

__all__ = ["ChatArchive"]

logger = logging.getLogger(__name__)

PURGE_EVERY = timedelta(hours=1)


class ChatArchive:
    def __init__(
        self,
        bus: Bus,
        store: ChatStore,
        *,
        retention: timedelta | None = None,
        clock: Clock = utc_now,
        once: WorkOnce | None = None,
        posts: ConferenceChatPosts | None = None,
    ) -> None:
        """``retention``: how long messages are kept (None: forever). ``once``: with several base servers, the
        one that claims a message stores it. ``posts``: whether a post is stored already (acknowledged archiving;
        without, resent posts are not looked for)."""
        self._once = once
        self._posts = posts
        self._outage = DatabaseOutageLog(logger, "chat archive")
        self._store = store
        self._retention = retention
        self._clock = clock
        self._last_purge: datetime | None = None
        bus.subscribe(ChatPosted, self._on_chat)
        bus.handle(ArchiveChatPost, self._on_archive)

    async def _on_chat(self, message: ChatPosted) -> None:
        entry = ChatEntry(sender=message.sender, display_name=message.display_name, text=message.text, ts=message.ts)
        if self._once is None:
            await self._store.add(message.conference_id, entry)
        else:
            key = work_key("conference-chat", message.conference_id, message.sender, message.ts, message.text)
            mine, _ = await self._once.run(key, lambda: self._store.add(message.conference_id, entry))
            if not mine:
                return  # another base server stores it
        await self.purge_if_due()

    async def _on_archive(self, post: ArchiveChatPost) -> BusMessage | None:
        entry = ChatEntry(sender=post.sender, display_name=post.display_name, text=post.text, ts=post.ts)
        try:
            if self._once is None:
                await self._add_once(post.conference_id, entry)
            else:
                key = work_key("conference-chat-post", post.post_id)
                mine, _ = await self._once.run(key, lambda: self._add_once(post.conference_id, entry))
                if not mine:  # another base server stores it now (it answers), or stored it before (a resend)
                    stored = self._posts is not None and await self._posts.stored(post.conference_id, entry)
                    return CommandResult(ok=True) if stored else None
        except InvalidInput as e:
            return CommandResult(ok=False, code="invalid", message=e.message)
        except Exception as e:  # the database is away (logged once): the app server keeps the post, sends it again
            if not self._outage.failed(e):
                logger.exception("could not archive chat post %s of conference %s", post.post_id, post.conference_id)
            return CommandResult(ok=False, code="unavailable", message="The chat message could not be stored.")
        self._outage.succeeded()
        await self.purge_if_due()
        return CommandResult(ok=True)

    async def _add_once(self, conference_id: int, entry: ChatEntry) -> None:
        """Store ``entry`` unless a resend of it is stored already."""
        if self._posts is None or not await self._posts.stored(conference_id, entry):
            await self._store.add(conference_id, entry)

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
