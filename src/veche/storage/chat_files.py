"""The files sent in chats (metadata; the bytes are in a blob store) and each uploader's usage, in SQL.

The quota is checked where the usage grows: one conditional UPDATE raises an uploader's usage only if it stays
within the quota, in the transaction that records the file, so two uploads at once cannot pass it together.
Deleting files lowers their uploaders' usage in the same transaction. Files whose chat is gone (a deleted
conference or chat) are found here too, so the hourly retention check deletes them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, String, cast, delete, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.storage.chat_tables import ChatRow
from veche.storage.file_tables import ChatFileRow, FileUsageRow
from veche.storage.tables import ConferenceRow

__all__ = ["ChatFile", "ChatFileStore"]


@dataclass(frozen=True)
class ChatFile:
    id: str
    chat: str  # ChatRef key
    uploader: str  # "user:<id>" or a guest's identity
    uploader_name: str
    name: str
    content_type: str
    size: int
    created_at: datetime


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _file(row: ChatFileRow) -> ChatFile:
    return ChatFile(
        id=row.id,
        chat=row.chat,
        uploader=row.uploader,
        uploader_name=row.uploader_name,
        name=row.name,
        content_type=row.content_type,
        size=row.size,
        created_at=_aware(row.created_at),
    )


class _OverQuota(Exception):
    pass


class ChatFileStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add_within_quota(self, file: ChatFile, quota_bytes: int | None) -> bool:
        """Record ``file`` and count it in its uploader's usage, unless that would pass ``quota_bytes``
        (None: no quota). False (and nothing recorded) if it would."""
        try:
            await self._add_within_quota(file, quota_bytes)
        except _OverQuota:
            return False
        return True

    async def _add_within_quota(self, file: ChatFile, quota_bytes: int | None) -> None:
        async with self._sessions.begin() as session:
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            await session.execute(
                dialect.insert(FileUsageRow)
                .values(uploader=file.uploader, bytes=0, files=0)
                .on_conflict_do_nothing(index_elements=["uploader"])
            )
            condition: ColumnElement[bool] = FileUsageRow.uploader == file.uploader
            if quota_bytes is not None:
                condition = condition & (FileUsageRow.bytes + file.size <= quota_bytes)
            raised = await session.execute(
                update(FileUsageRow)
                .where(condition)
                .values(bytes=FileUsageRow.bytes + file.size, files=FileUsageRow.files + 1)
            )
            if not getattr(raised, "rowcount", 0):
                raise _OverQuota  # rolls the transaction back
            session.add(
                ChatFileRow(
                    id=file.id,
                    chat=file.chat,
                    uploader=file.uploader,
                    uploader_name=file.uploader_name,
                    name=file.name,
                    content_type=file.content_type,
                    size=file.size,
                    created_at=file.created_at.astimezone(UTC),
                )
            )

    async def get(self, file_id: str) -> ChatFile | None:
        async with self._sessions() as session:
            row = await session.get(ChatFileRow, file_id)
        return _file(row) if row is not None else None

    async def usage(self, uploader: str) -> int:
        """Bytes the uploader's files take now."""
        async with self._sessions() as session:
            used = await session.scalar(select(FileUsageRow.bytes).where(FileUsageRow.uploader == uploader))
        return int(used or 0)

    async def in_chat(self, chat: str, *, limit: int, offset: int = 0) -> list[ChatFile]:
        """The chat's files, newest first, one page."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ChatFileRow)
                .where(ChatFileRow.chat == chat)
                .order_by(ChatFileRow.created_at.desc(), ChatFileRow.id)
                .limit(limit)
                .offset(offset)
            )
            return [_file(r) for r in rows]

    async def take(self, file_id: str) -> ChatFile | None:
        """Delete one file's record (its uploader's usage drops); the record, or None if there was none."""
        taken = await self._take(ChatFileRow.id == file_id, limit=1)
        return taken[0] if taken else None

    async def take_older_than(self, cutoff: datetime, *, limit: int) -> list[ChatFile]:
        """Delete up to ``limit`` records of files sent before ``cutoff``; the records deleted."""
        return await self._take(ChatFileRow.created_at < _aware(cutoff).astimezone(UTC), limit=limit)

    async def take_orphans(self, *, limit: int) -> list[ChatFile]:
        """Delete up to ``limit`` records of files whose chat is gone (a deleted conference or chat)."""
        conference = select(ConferenceRow.id).where(
            literal("conference:") + cast(ConferenceRow.id, String) == ChatFileRow.chat
        )
        chat = select(ChatRow.id).where(literal("chat:") + cast(ChatRow.id, String) == ChatFileRow.chat)
        return await self._take(
            (ChatFileRow.chat.startswith("conference:") & ~conference.exists())
            | (ChatFileRow.chat.startswith("chat:") & ~chat.exists()),
            limit=limit,
        )

    async def take_of_chat(self, chat: str, *, limit: int) -> list[ChatFile]:
        """Delete up to ``limit`` records of the chat's files; the records deleted."""
        return await self._take(ChatFileRow.chat == chat, limit=limit)

    async def _take(self, where: ColumnElement[bool], *, limit: int) -> list[ChatFile]:
        async with self._sessions.begin() as session:
            rows = list(
                await session.scalars(
                    select(ChatFileRow).where(where).order_by(ChatFileRow.created_at).limit(limit).with_for_update()
                )
            )
            if not rows:
                return []
            files = [_file(r) for r in rows]
            await session.execute(delete(ChatFileRow).where(ChatFileRow.id.in_([f.id for f in files])))
            await self._release(session, files)
        return files

    @staticmethod
    async def _release(session: AsyncSession, files: Sequence[ChatFile]) -> None:
        freed: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
        for f in files:
            size, count = freed[f.uploader]
            freed[f.uploader] = (size + f.size, count + 1)
        for uploader, (size, count) in sorted(freed.items()):
            await session.execute(
                update(FileUsageRow)
                .where(FileUsageRow.uploader == uploader)
                .values(bytes=FileUsageRow.bytes - size, files=FileUsageRow.files - count)
            )
