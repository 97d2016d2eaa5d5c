"""The base role's side of posting: store each message a web server hands over, then announce it on the bus.

One writer stores what is waiting, up to ``BATCH`` messages per transaction (one commit for many posts when many
arrive at once), and announces them in order. Messages are stored one batch at a time (here, and across processes
by the store's lock on PostgreSQL), so ids grow in the order messages commit: the members' pages follow their chats
by id (base/chats/delivery.py) and never skip one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from veche.base.chats.wire import attachment_of, to_wire
from veche.base.work_once import WorkOnce, work_key
from veche.bus.base import Bus
from veche.bus.chat_messages import ChatMessageStored, ChatPostResult, PostChatMessage
from veche.bus.messages import BusMessage
from veche.domain.chat_access import ChatRef
from veche.domain.chat_rules import MAX_TEXT
from veche.domain.clock import Clock, utc_now
from veche.domain.notifications import Notice, Notifier
from veche.storage.chats import ChatStore, NewMessage, StoredPost
from veche.storage.unavailable import DatabaseOutageLog, database_unavailable

__all__ = ["ChatPostOffice"]

logger = logging.getLogger(__name__)

BATCH = 100
NOTICE_PREVIEW = 140  # characters of a message shown in its notice


def message_notices(stored: StoredPost) -> list[Notice]:
    """A notice of a direct or group chat's message for each member but its sender (a conference's chat: none,
    its people are in the call)."""
    message = stored.message
    if message.chat.kind != "chat":
        return []
    preview = message.text if len(message.text) <= NOTICE_PREVIEW else message.text[: NOTICE_PREVIEW - 1] + "…"
    if message.attachment is not None:
        preview = preview or f"sent {message.attachment.name}"
    return [
        Notice(
            key=f"chat:{message.chat.id}:message:{message.id}",
            user_id=member,
            kind="message",
            title=message.display_name,
            body=preview,
            url=f"/chats?chat={message.chat.id}",
        )
        for member in stored.member_ids
        if member != message.sender_user_id
    ]


class ChatPostOffice:
    """Answers :class:`PostChatMessage` (base role) and publishes :class:`ChatMessageStored`."""

    def __init__(
        self,
        bus: Bus,
        store: ChatStore,
        *,
        clock: Clock = utc_now,
        after_storing: Callable[[], Awaitable[None]] | None = None,
        notifier: Notifier | None = None,
        once: WorkOnce | None = None,
    ) -> None:
        """``after_storing``: called after each batch (the archive's retention purge, at most hourly).
        ``notifier``: the other members of a direct or group chat get a notice of each message (kind "message":
        by default pushed to their browsers and devices, not mailed; their preferences decide).
        ``once``: with several base servers, the one that claims a post stores it (the others decline)."""
        self._notifier = notifier
        self._once = once
        self._bus = bus
        self._store = store
        self._clock = clock
        self._after_storing = after_storing
        self._waiting: list[tuple[NewMessage, asyncio.Future[StoredPost | None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._outage = DatabaseOutageLog(logger, "chat messages")
        bus.handle(PostChatMessage, self._on_post)

    async def _on_post(self, request: PostChatMessage) -> BusMessage | None:
        try:
            chat = ChatRef.parse(request.chat)
        except ValueError as exc:
            return ChatPostResult(ok=False, code="invalid_input", error=str(exc))
        text = request.text.strip()
        if (not text and request.attachment is None) or len(text) > MAX_TEXT:
            return ChatPostResult(
                ok=False, code="invalid_input", error=f"A chat message must be 1–{MAX_TEXT} characters."
            )
        post = NewMessage(
            chat, request.sender, request.sender_user_id, request.display_name, text, attachment_of(request.attachment)
        )
        try:
            if self._once is None:
                stored = await self._store_in_turn(post)
            else:
                mine, stored = await self._once.run(
                    work_key("chat-post", request.post_id), lambda: self._store_in_turn(post)
                )
                if not mine:
                    return None  # another base server claimed it: it stores it and answers
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            # Not stored: the web server answers 503 with Retry-After and the sender sends it again.
            return ChatPostResult(ok=False, code="unavailable", error="The database is switching over.")
        if stored is None:
            return ChatPostResult(
                ok=False, code="not_found", error=f"Chat {chat.id} does not exist or you are not in it."
            )
        return ChatPostResult(ok=True, message=to_wire(stored.message))

    async def _store_in_turn(self, post: NewMessage) -> StoredPost | None:
        done: asyncio.Future[StoredPost | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((post, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await done

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
            try:
                results = await self._store.add_messages([post for post, _ in batch], self._clock())
            except Exception as exc:
                if not self._outage.failed(exc):
                    logger.exception("storing %d chat message(s) failed", len(batch))
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            self._outage.succeeded()
            notices: list[Notice] = []
            for (_, done), stored in zip(batch, results, strict=True):
                if stored is not None:
                    await self._bus.publish(
                        ChatMessageStored(message=to_wire(stored.message), member_ids=stored.member_ids)
                    )
                    notices += message_notices(stored)
                if not done.done():
                    done.set_result(stored)
            if notices and self._notifier is not None:
                try:
                    await self._notifier.notify(notices)
                except Exception:
                    logger.exception("notices of %d chat message(s) failed (the messages are stored)", len(notices))
            if self._after_storing is not None:
                await self._after_storing()
