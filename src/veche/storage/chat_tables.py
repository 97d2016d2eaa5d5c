"""Tables of the persistent chats outside conferences: the chats (direct and group) and their members.

Messages of every chat, a conference's or not, are rows of ``chat_messages`` (storage/tables.py): a message
belongs to one conference (``conference_id``) or one chat (``chat_id``), never both.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from veche.storage.tables import Base

__all__ = ["ChatMemberRow", "ChatRow"]


class ChatRow(Base):
    """A direct chat (two members, one per pair) or a group chat (a title, any members)."""

    __tablename__ = "chats"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "direct" | "group"
    title: Mapped[str] = mapped_column(String(256), default="")
    # A direct chat's pair ("<lower user id>:<higher user id>"): unique, so two people share one direct chat.
    direct_pair: Mapped[str | None] = mapped_column(String(48), unique=True, nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The newest message's id: "my chats" is ordered by it (a chat without messages by its creation).
    last_message_id: Mapped[int] = mapped_column(Integer, default=0)
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ChatMemberRow(Base):
    """A member of a chat and how far he has read it (the id of the newest message he has seen)."""

    __tablename__ = "chat_members"
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_read_id: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (Index("ix_chat_members_user_id", "user_id"),)
