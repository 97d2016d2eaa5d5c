"""Whether a conference chat post is stored already: a resend of one whose acknowledgement was lost is answered
without a second copy (base/chat_archive.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.domain.room import ChatEntry
from veche.storage.tables import ChatMessageRow

__all__ = ["ConferenceChatPosts"]


class ConferenceChatPosts:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def stored(self, conference_id: int, entry: ChatEntry) -> bool:
        """A message of this conference with the same sender, time and text is in the history."""
        row = ChatMessageRow
        async with self._sessions() as session:
            found = await session.scalar(
                select(row.id)
                .where(
                    row.conference_id == conference_id,
                    row.sender == entry.sender,
                    row.created_at == datetime.fromisoformat(entry.ts),
                    row.text == entry.text,
                )
                .limit(1)
            )
        return found is not None
