"""Persistence of the chats: direct and group chats with their members and read positions, and the messages of
every chat (a conference's too), paged backwards by id (keyset) and searched in SQL.

Search is ``lower(text) LIKE '%query%'`` on both databases; on PostgreSQL a trigram index (migration 0015) serves
it. Who may call what is the caller's business (base/chats/); these methods only never return other chats'
messages than asked for: a member's queries join ``chat_members``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, select, update
from sqlalchemy import text as sql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.domain.chat_access import Attachment, ChatRef
from veche.domain.chat_rules import like_pattern
from veche.storage.chat_tables import ChatMemberRow, ChatRow
from veche.storage.tables import ChatMessageRow, UserRow

__all__ = [
    "ChatInfo",
    "ChatListItem",
    "ChatListPage",
    "ChatMember",
    "ChatStore",
    "MessagePage",
    "NewMessage",
    "StoredMessage",
    "StoredPost",
]


@dataclass(frozen=True)
class StoredMessage:
    id: int
    chat: ChatRef
    sender: str  # a participant id in a conference, "user:<id>" elsewhere
    sender_user_id: int | None
    display_name: str
    text: str
    created_at: datetime
    attachment: Attachment | None = None


@dataclass(frozen=True)
class NewMessage:
    """A message to store: ``sender`` is a participant id in a conference, "user:<id>" elsewhere."""

    chat: ChatRef
    sender: str
    sender_user_id: int | None
    display_name: str
    text: str
    attachment: Attachment | None = None


@dataclass(frozen=True)
class StoredPost:
    message: StoredMessage
    member_ids: list[int]  # a direct/group chat's members (empty for a conference's chat)


@dataclass(frozen=True)
class MessagePage:
    """Messages oldest first; ``more``: there are older ones (ask again with ``before`` = the first's id)."""

    messages: list[StoredMessage]
    more: bool


@dataclass(frozen=True)
class ChatMember:
    user_id: int
    display_name: str
    last_read_id: int


@dataclass(frozen=True)
class ChatInfo:
    id: int
    kind: str  # "direct" | "group"
    title: str
    created_at: datetime
    last_message_id: int
    members: tuple[ChatMember, ...]


@dataclass(frozen=True)
class ChatListItem:
    chat: ChatInfo
    last_message: StoredMessage | None
    unread: int


@dataclass(frozen=True)
class ChatListPage:
    items: list[ChatListItem]
    total: int


MESSAGE_ORDER_LOCK = 0x63686174  # "chat"


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _message(row: ChatMessageRow) -> StoredMessage:
    ref = ChatRef("chat", row.chat_id) if row.chat_id is not None else ChatRef("conference", row.conference_id or 0)
    attachment = None
    if row.file_id is not None:
        attachment = Attachment(
            file_id=row.file_id, name=row.file_name or "", size=row.file_size or 0, content_type=row.file_type or ""
        )
    return StoredMessage(
        id=row.id,
        chat=ref,
        sender=row.sender,
        sender_user_id=row.sender_user_id,
        display_name=row.display_name,
        text=row.text,
        created_at=_aware(row.created_at),
        attachment=attachment,
    )


def _of_chat(chat: ChatRef) -> object:
    if chat.kind == "chat":
        return ChatMessageRow.chat_id == chat.id
    return ChatMessageRow.conference_id == chat.id


class ChatStore:
    """Chats, members, read positions and messages (see the module docstring)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    # -- chats and members ------------------------------------------------------------------------------------

    async def direct(self, a: int, b: int, pair: str, now: datetime) -> ChatInfo:
        """The direct chat of the pair, made now if there is none (two callers at once get the same one)."""
        existing = await self._by_pair(pair)
        if existing is not None:
            return existing
        try:
            async with self._sessions.begin() as session:
                row = ChatRow(kind="direct", title="", direct_pair=pair, created_by=a, created_at=now)
                session.add(row)
                await session.flush()
                session.add_all(ChatMemberRow(chat_id=row.id, user_id=u, joined_at=now, last_read_id=0) for u in (a, b))
        except IntegrityError:
            pass  # made meanwhile by the other one (or a user does not exist: then there is none below either)
        found = await self._by_pair(pair)
        if found is None:
            raise LookupError(f"no direct chat {pair}")
        return found

    async def group(self, creator: int, title: str, member_ids: set[int], now: datetime) -> ChatInfo:
        async with self._sessions.begin() as session:
            row = ChatRow(kind="group", title=title, direct_pair=None, created_by=creator, created_at=now)
            session.add(row)
            await session.flush()
            session.add_all(
                ChatMemberRow(chat_id=row.id, user_id=u, joined_at=now, last_read_id=0) for u in member_ids | {creator}
            )
            chat_id = row.id
        info = await self.get(chat_id)
        assert info is not None
        return info

    async def get(self, chat_id: int) -> ChatInfo | None:
        async with self._sessions() as session:
            row = await session.get(ChatRow, chat_id)
            if row is None:
                return None
            members = await self._members(session, [chat_id])
        return self._info(row, members.get(chat_id, ()))

    async def is_member(self, chat_id: int, user_id: int) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(
                select(ChatMemberRow.user_id).where(ChatMemberRow.chat_id == chat_id, ChatMemberRow.user_id == user_id)
            )
        return found is not None

    async def member_ids(self, chat_id: int) -> list[int]:
        async with self._sessions() as session:
            return list(
                await session.scalars(
                    select(ChatMemberRow.user_id)
                    .where(ChatMemberRow.chat_id == chat_id)
                    .order_by(ChatMemberRow.user_id)
                )
            )

    async def add_members(self, chat_id: int, user_ids: set[int], now: datetime) -> None:
        """Add members (those already in stay as they are); new members have read nothing yet."""
        async with self._sessions.begin() as session:
            present = set(
                await session.scalars(
                    select(ChatMemberRow.user_id).where(
                        ChatMemberRow.chat_id == chat_id, ChatMemberRow.user_id.in_(user_ids)
                    )
                )
            )
            session.add_all(
                ChatMemberRow(chat_id=chat_id, user_id=u, joined_at=now, last_read_id=0) for u in user_ids - present
            )

    async def remove_member(self, chat_id: int, user_id: int) -> bool:
        async with self._sessions.begin() as session:
            row = await session.get(ChatMemberRow, (chat_id, user_id))
            if row is None:
                return False
            await session.delete(row)
            return True

    async def my_chats(self, user_id: int, *, limit: int, offset: int) -> ChatListPage:
        """The chats ``user_id`` is a member of, the one with the newest message first, each with its newest
        message and how many messages are newer than his read position; paged and counted in the database."""
        unread = (
            select(func.count())
            .select_from(ChatMessageRow)
            .where(ChatMessageRow.chat_id == ChatRow.id, ChatMessageRow.id > ChatMemberRow.last_read_id)
            .scalar_subquery()
        )
        mine = and_(ChatMemberRow.chat_id == ChatRow.id, ChatMemberRow.user_id == user_id)
        listed = (
            select(ChatRow, unread)
            .join(ChatMemberRow, mine)
            .order_by(ChatRow.last_message_id.desc(), ChatRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        counted = select(func.count()).select_from(ChatRow).join(ChatMemberRow, mine)
        async with self._sessions() as session:
            rows = list((await session.execute(listed)).all())
            total = int(await session.scalar(counted) or 0)
            members = await self._members(session, [r[0].id for r in rows])
            last_ids = [r[0].last_message_id for r in rows if r[0].last_message_id]
            last = {
                m.id: _message(m)
                for m in (
                    await session.scalars(select(ChatMessageRow).where(ChatMessageRow.id.in_(last_ids)))
                    if last_ids
                    else []
                )
            }
        items = [
            ChatListItem(
                chat=self._info(row, members.get(row.id, ())),
                last_message=last.get(row.last_message_id),
                unread=int(count or 0),
            )
            for row, count in rows
        ]
        return ChatListPage(items=items, total=total)

    async def mark_read(self, chat_id: int, user_id: int, message_id: int) -> None:
        """Move the member's read position forward to ``message_id`` (never back, never past the newest)."""
        async with self._sessions.begin() as session:
            newest = await session.scalar(select(ChatRow.last_message_id).where(ChatRow.id == chat_id))
            if newest is None:
                return
            await session.execute(
                update(ChatMemberRow)
                .where(
                    ChatMemberRow.chat_id == chat_id,
                    ChatMemberRow.user_id == user_id,
                    ChatMemberRow.last_read_id < min(message_id, newest),
                )
                .values(last_read_id=min(message_id, newest))
            )

    # -- messages ---------------------------------------------------------------------------------------------

    async def add_message(
        self,
        chat: ChatRef,
        *,
        sender: str,
        sender_user_id: int | None,
        display_name: str,
        text: str,
        now: datetime,
        attachment: Attachment | None = None,
    ) -> StoredMessage | None:
        """Store one message (see :meth:`add_messages`); None if its sender is no member of the chat."""
        (stored,) = await self.add_messages(
            [NewMessage(chat, sender, sender_user_id, display_name, text, attachment)], now
        )
        return stored.message if stored is not None else None

    async def add_messages(self, posts: Sequence[NewMessage], now: datetime) -> list[StoredPost | None]:
        """Store messages in one transaction, in order; a message to a direct/group chat only from a member (else
        None in its place, nothing stored). Each becomes its chat's newest, and its sender has read up to it.
        Returns each stored message with the chat's member ids (those who should get it)."""
        chat_ids = {p.chat.id for p in posts if p.chat.kind == "chat"}
        async with self._sessions.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                # Messages commit in the order of their ids, whichever process stores them: a page that has seen
                # message n never misses a message below n committed later (for_member_after reads by id).
                await session.execute(sql("SELECT pg_advisory_xact_lock(:key)"), {"key": MESSAGE_ORDER_LOCK})
            members: dict[int, list[int]] = {}
            if chat_ids:
                for chat_id, user_id in await session.execute(
                    select(ChatMemberRow.chat_id, ChatMemberRow.user_id)
                    .where(ChatMemberRow.chat_id.in_(chat_ids))
                    .order_by(ChatMemberRow.user_id)
                ):
                    members.setdefault(chat_id, []).append(user_id)
            rows: list[ChatMessageRow | None] = []
            for post in posts:
                if post.chat.kind == "chat" and post.sender_user_id not in members.get(post.chat.id, ()):
                    rows.append(None)
                    continue
                attachment = post.attachment
                rows.append(
                    ChatMessageRow(
                        conference_id=post.chat.id if post.chat.kind == "conference" else None,
                        chat_id=post.chat.id if post.chat.kind == "chat" else None,
                        sender=post.sender,
                        sender_user_id=post.sender_user_id,
                        display_name=post.display_name,
                        text=post.text,
                        created_at=now.astimezone(UTC),
                        file_id=attachment.file_id if attachment else None,
                        file_name=attachment.name if attachment else None,
                        file_size=attachment.size if attachment else None,
                        file_type=attachment.content_type if attachment else None,
                    )
                )
            # One flush: the rows go in the order they were added (their ids too), in one round trip.
            session.add_all(row for row in rows if row is not None)
            await session.flush()
            newest: dict[int, int] = {}
            read: dict[tuple[int, int], int] = {}
            for row in rows:
                if row is not None and row.chat_id is not None and row.sender_user_id is not None:
                    newest[row.chat_id] = row.id
                    read[(row.chat_id, row.sender_user_id)] = row.id
            for chat_id, message_id in newest.items():
                await session.execute(
                    update(ChatRow).where(ChatRow.id == chat_id).values(last_message_id=message_id, last_message_at=now)
                )
            for (chat_id, user_id), message_id in read.items():
                await session.execute(
                    update(ChatMemberRow)
                    .where(ChatMemberRow.chat_id == chat_id, ChatMemberRow.user_id == user_id)
                    .values(last_read_id=message_id)
                )
            return [
                StoredPost(_message(row), members.get(row.chat_id, []) if row.chat_id is not None else [])
                if row is not None
                else None
                for row in rows
            ]

    async def page(
        self, chat: ChatRef, *, before: int | None = None, limit: int = 50, query: str | None = None
    ) -> MessagePage:
        """``limit`` messages of one chat older than ``before`` (None: the newest), containing ``query`` if given
        (already case-folded), oldest first."""
        listed = select(ChatMessageRow).where(_of_chat(chat))  # type: ignore[arg-type]
        return await self._page(listed, before=before, limit=limit, query=query)

    async def search_member_chats(
        self, user_id: int, query: str, *, before: int | None = None, limit: int = 50
    ) -> MessagePage:
        """Messages containing ``query`` (case-folded) in the direct/group chats ``user_id`` is a member of."""
        listed = select(ChatMessageRow).join(
            ChatMemberRow, and_(ChatMemberRow.chat_id == ChatMessageRow.chat_id, ChatMemberRow.user_id == user_id)
        )
        return await self._page(listed, before=before, limit=limit, query=query)

    async def for_member_after(self, user_id: int, after: int, *, limit: int = 100) -> list[StoredMessage]:
        """Messages of ``user_id``'s chats with an id above ``after``, oldest first (what his open pages get)."""
        listed = (
            select(ChatMessageRow)
            .join(
                ChatMemberRow,
                and_(ChatMemberRow.chat_id == ChatMessageRow.chat_id, ChatMemberRow.user_id == user_id),
            )
            .where(ChatMessageRow.id > after)
            .order_by(ChatMessageRow.id)
            .limit(limit)
        )
        async with self._sessions() as session:
            return [_message(r) for r in await session.scalars(listed)]

    async def after_in_chat(self, chat: ChatRef, after: int, *, limit: int = 100) -> list[StoredMessage]:
        """Messages of one chat with an id above ``after``, oldest first."""
        listed = (
            select(ChatMessageRow)
            .where(_of_chat(chat), ChatMessageRow.id > after)  # type: ignore[arg-type]
            .order_by(ChatMessageRow.id)
            .limit(limit)
        )
        async with self._sessions() as session:
            return [_message(r) for r in await session.scalars(listed)]

    async def newest_id(self) -> int:
        """The newest message id of all chats (0 if none): where a page that starts listening begins."""
        async with self._sessions() as session:
            return int(await session.scalar(select(func.max(ChatMessageRow.id))) or 0)

    # -- helpers ----------------------------------------------------------------------------------------------

    async def _by_pair(self, pair: str) -> ChatInfo | None:
        async with self._sessions() as session:
            chat_id = await session.scalar(select(ChatRow.id).where(ChatRow.direct_pair == pair))
        return await self.get(chat_id) if chat_id is not None else None

    async def _page(self, listed: Select[Any], *, before: int | None, limit: int, query: str | None) -> MessagePage:
        if before is not None:
            listed = listed.where(ChatMessageRow.id < before)
        if query:
            listed = listed.where(func.lower(ChatMessageRow.text).like(like_pattern(query), escape="\\"))
        listed = listed.order_by(ChatMessageRow.id.desc()).limit(limit + 1)
        async with self._sessions() as session:
            rows = list(await session.scalars(listed))
        return MessagePage(messages=[_message(r) for r in reversed(rows[:limit])], more=len(rows) > limit)

    @staticmethod
    async def _members(session: AsyncSession, chat_ids: list[int]) -> dict[int, list[ChatMember]]:
        if not chat_ids:
            return {}
        rows = await session.execute(
            select(ChatMemberRow.chat_id, ChatMemberRow.user_id, UserRow.display_name, ChatMemberRow.last_read_id)
            .join(UserRow, UserRow.id == ChatMemberRow.user_id)
            .where(ChatMemberRow.chat_id.in_(chat_ids))
            .order_by(UserRow.display_name, UserRow.id)
        )
        members: dict[int, list[ChatMember]] = {}
        for chat_id, user_id, name, read in rows:
            members.setdefault(chat_id, []).append(ChatMember(user_id=user_id, display_name=name, last_read_id=read))
        return members

    @staticmethod
    def _info(row: ChatRow, members: list[ChatMember] | tuple[ChatMember, ...]) -> ChatInfo:
        return ChatInfo(
            id=row.id,
            kind=row.kind,
            title=row.title,
            created_at=_aware(row.created_at),
            last_message_id=row.last_message_id,
            members=tuple(members),
        )
