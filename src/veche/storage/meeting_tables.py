"""Tables of the scheduled meetings (migration 0014): the series, invitees and answers, occurrences changed or
cancelled alone, reminders sent, each user's private calendar feed token, and his profile (time zone, language,
avatar).

Every time is stored in UTC (SQLite keeps no offset: compare like with like)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from veche.storage.tables import Base

__all__ = [
    "MeetingFeedTokenRow",
    "MeetingInviteeRow",
    "MeetingOccurrenceRow",
    "MeetingReminderRow",
    "MeetingRow",
    "UserProfileRow",
]


class MeetingRow(Base):
    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(128), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(256))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    time_zone: Mapped[str] = mapped_column(String(64))
    recurrence: Mapped[str | None] = mapped_column(String(512), nullable=True)
    # The end of the last occurrence (None: it repeats for good): the store finds a range's meetings by it.
    series_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    guests_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    moderated: Mapped[bool] = mapped_column(Boolean, default=False)
    pin: Mapped[str | None] = mapped_column(String(16), nullable=True)
    opened_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        Index("ix_meetings_owner_id", "owner_id"),
        Index("ix_meetings_starts_at", "starts_at"),
        Index("ix_meetings_conference_id", "conference_id"),
    )


class MeetingInviteeRow(Base):
    """A user (``user_id``) or an external address invited; ``key`` is "user:<id>" or "email:<address>"."""

    __tablename__ = "meeting_invitees"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(340))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    email: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(256))
    answer: Mapped[str] = mapped_column(String(16))
    group_name: Mapped[str] = mapped_column(String(256), default="")
    __table_args__ = (
        UniqueConstraint("meeting_id", "key", name="uq_meeting_invitees_meeting_id_key"),
        Index("ix_meeting_invitees_user_meeting", "user_id", "meeting_id"),
    )


class MeetingOccurrenceRow(Base):
    """One occurrence changed or cancelled alone, by its original start."""

    __tablename__ = "meeting_occurrences"
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    recurrence_id: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)


class MeetingReminderRow(Base):
    """A reminder sent (or being sent) for one occurrence to one person: stored first, so each goes once."""

    __tablename__ = "meeting_reminders"
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    recurrence_id: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(340), primary_key=True)
    lead_minutes: Mapped[int] = mapped_column(Integer, primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MeetingFeedTokenRow(Base):
    """A user's private calendar feed (/meetings/feed/<token>.ics): only the token's SHA-256 is stored."""

    __tablename__ = "meeting_feed_tokens"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UserProfileRow(Base):
    """What a user sets on his account page besides his display name (which is in ``users``)."""

    __tablename__ = "user_profiles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    # A small picture (PNG, JPEG or WebP, at most 256 KB: base/profiles.py checks it), shown beside his name.
    avatar: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    avatar_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
