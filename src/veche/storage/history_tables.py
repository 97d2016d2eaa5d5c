"""Tables of the call history: one row per call (a run of a conference) and one per participant session.

Times are epoch milliseconds (UTC), the same on SQLite and PostgreSQL. A session's ``session_id`` is the app
server's; ``revision`` is the newest change stored (a resend with a lower or equal one changes nothing).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from veche.storage.tables import Base

__all__ = ["HistoryCallRow", "HistorySessionRow"]

# An autoincrementing 64-bit key on PostgreSQL; SQLite autoincrements only an INTEGER PRIMARY KEY (64-bit anyway).
Key = BigInteger().with_variant(Integer(), "sqlite")


class HistoryCallRow(Base):
    """One run of a conference, from its first join to its last leave (``ended_at_ms`` None while running)."""

    __tablename__ = "history_calls"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    conference_id: Mapped[int] = mapped_column(BigInteger)
    conference_name: Mapped[str] = mapped_column(String(256))
    started_at_ms: Mapped[int] = mapped_column(BigInteger)
    ended_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    participants: Mapped[int] = mapped_column(Integer)  # sessions in it

    __table_args__ = (
        Index("ix_history_calls_started", "started_at_ms", "id"),
        Index("ix_history_calls_conference", "conference_id", "started_at_ms"),
    )


class HistorySessionRow(Base):
    """One participant's stay in a call through one app server, with the media engine's figures for it."""

    __tablename__ = "history_sessions"
    id: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(100), unique=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("history_calls.id", ondelete="CASCADE"))
    conference_id: Mapped[int] = mapped_column(BigInteger)
    identity: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    display_name: Mapped[str] = mapped_column(String(256))
    guest: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(String(20))
    user_agent: Mapped[str] = mapped_column(String(256))
    server_id: Mapped[str] = mapped_column(String(100))
    incarnation: Mapped[str] = mapped_column(String(64))
    joined_at_ms: Mapped[int] = mapped_column(BigInteger)
    left_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    closed_by: Mapped[str] = mapped_column(String(20))  # "" while open; "app" | "server_down" | "server_restart"
    revision: Mapped[int] = mapped_column(BigInteger)
    bytes_in: Mapped[int] = mapped_column(BigInteger)
    bytes_out: Mapped[int] = mapped_column(BigInteger)
    packets_in: Mapped[int] = mapped_column(BigInteger)
    packets_out: Mapped[int] = mapped_column(BigInteger)
    lost_in: Mapped[int] = mapped_column(BigInteger)
    lost_out: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_history_sessions_call", "call_id", "joined_at_ms"),
        Index("ix_history_sessions_user", "user_id", "call_id"),
        Index("ix_history_sessions_server", "server_id", "left_at_ms"),
        Index("ix_history_sessions_kind", "kind", "call_id"),
        Index("ix_history_sessions_joined", "joined_at_ms"),
    )
