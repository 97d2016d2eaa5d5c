"""Tables of the files sent in chats: one row per file (its bytes are in the blob store under its id) and each
uploader's usage, which the quota is checked against."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from veche.storage.tables import Base

__all__ = ["ChatFileRow", "FileUsageRow"]


class ChatFileRow(Base):
    __tablename__ = "chat_files"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # random, unguessable; also the blob's key
    chat: Mapped[str] = mapped_column(String(40))  # a ChatRef key: "conference:12", "chat:7"
    uploader: Mapped[str] = mapped_column(String(80))  # "user:5" or a guest's identity "guest:<digest>"
    uploader_name: Mapped[str] = mapped_column(String(256))
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_chat_files_chat_created_at", "chat", "created_at"),
        Index("ix_chat_files_created_at", "created_at"),
    )


class FileUsageRow(Base):
    """What one uploader's files take in all. Raised and checked in one UPDATE, so uploads at once cannot pass
    the quota together."""

    __tablename__ = "file_usage"
    uploader: Mapped[str] = mapped_column(String(80), primary_key=True)
    bytes: Mapped[int] = mapped_column(BigInteger)
    files: Mapped[int] = mapped_column(Integer)
