"""SQLAlchemy table definitions of the base role. The schema changes only through Alembic migrations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "ChatMessageRow", "ConferenceMemberRow", "ConferenceRow", "SessionRow", "UserRow"]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(256))
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SessionRow(Base):
    """A login: a page session (cookie) or an API token. Only the token's SHA-256 is stored."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConferenceRow(Base):
    __tablename__ = "conferences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    type: Mapped[str] = mapped_column(String(32))
    max_participants: Mapped[int] = mapped_column(Integer)
    guests_allowed: Mapped[bool] = mapped_column(Boolean)
    access: Mapped[str] = mapped_column(String(16))
    invite_code: Mapped[str] = mapped_column(String(64), unique=True)
    # The conference page's address (/c/<slug>): random, so pages cannot be found by counting.
    slug: Mapped[str] = mapped_column(String(32), unique=True)
    # What a phone dials (sip:<number>@<domain>, docs/sip.md): digits, random, unique.
    number: Mapped[str] = mapped_column(String(16), unique=True)
    # An ad hoc call between two users ("<lower id>:<higher id>"): one such conference per pair, reused.
    call_pair: Mapped[str | None] = mapped_column(String(48), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    video_codec: Mapped[str | None] = mapped_column(String(8), nullable=True)


class ConferenceMemberRow(Base):
    """An invited user or a moderator of a conference."""

    __tablename__ = "conference_members"
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)  # "invited" | "moderator"


class ChatMessageRow(Base):
    """A message of a conference's chat (``conference_id``) or of a direct/group chat (``chat_id``, see
    storage/chat_tables.py; the foreign key to ``chats`` is the migration's, 0015), maybe carrying a file."""

    __tablename__ = "chat_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conference_id: Mapped[int | None] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"), nullable=True)
    chat_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sender: Mapped[str] = mapped_column(String(128))
    sender_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    display_name: Mapped[str] = mapped_column(String(256))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # An attached file (base/files/ stores it; the download is /api/v1/files/{file_id}).
    file_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    file_name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    file_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    file_type: Mapped[str | None] = mapped_column(String(128), nullable=True)
    __table_args__ = (
        Index("ix_chat_messages_conference_created", "conference_id", "created_at"),
        Index("ix_chat_messages_conference_id_id", "conference_id", "id"),
        Index("ix_chat_messages_chat_id_id", "chat_id", "id"),
    )
