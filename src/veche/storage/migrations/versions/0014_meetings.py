"""Scheduled meetings: occurrences, invitees and their answers.

Also the reminders sent, each user's calendar feed token and his profile (time zone, language, avatar).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _user_fk(table: str, *, nullable: bool = False, primary_key: bool = False) -> "sa.Column[int]":
    return sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE", name=f"fk_{table}_user_id_users"),
        nullable=nullable,
        primary_key=primary_key,
    )


def _meeting_fk(table: str, *, primary_key: bool = False) -> "sa.Column[int]":
    return sa.Column(
        "meeting_id",
        sa.Integer,
        sa.ForeignKey("meetings.id", ondelete="CASCADE", name=f"fk_{table}_meeting_id_meetings"),
        nullable=False,
        primary_key=primary_key,
    )


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uid", sa.String(128), nullable=False),
        sa.Column(
            "owner_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_meetings_owner_id_users"),
            nullable=False,
        ),
        sa.Column(
            "conference_id",
            sa.Integer,
            sa.ForeignKey("conferences.id", ondelete="CASCADE", name="fk_meetings_conference_id_conferences"),
            nullable=False,
        ),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer, nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("recurrence", sa.String(512), nullable=True),
        sa.Column("series_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("guests_allowed", sa.Boolean, nullable=False),
        sa.Column("moderated", sa.Boolean, nullable=False),
        sa.Column("pin", sa.String(16), nullable=True),
        sa.Column("opened_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("uid", name="uq_meetings_uid"),
    )
    op.create_index("ix_meetings_owner_id", "meetings", ["owner_id"])
    op.create_index("ix_meetings_starts_at", "meetings", ["starts_at"])
    op.create_index("ix_meetings_conference_id", "meetings", ["conference_id"])
    op.create_table(
        "meeting_invitees",
        sa.Column("id", sa.Integer, primary_key=True),
        _meeting_fk("meeting_invitees"),
        sa.Column("key", sa.String(340), nullable=False),
        _user_fk("meeting_invitees", nullable=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("answer", sa.String(16), nullable=False),
        sa.Column("group_name", sa.String(256), nullable=False),
        sa.UniqueConstraint("meeting_id", "key", name="uq_meeting_invitees_meeting_id_key"),
    )
    op.create_index("ix_meeting_invitees_user_meeting", "meeting_invitees", ["user_id", "meeting_id"])
    op.create_table(
        "meeting_occurrences",
        _meeting_fk("meeting_occurrences", primary_key=True),
        sa.Column("recurrence_id", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("cancelled", sa.Boolean, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_minutes", sa.Integer, nullable=True),
    )
    op.create_table(
        "meeting_reminders",
        _meeting_fk("meeting_reminders", primary_key=True),
        sa.Column("recurrence_id", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("recipient", sa.String(340), primary_key=True),
        sa.Column("lead_minutes", sa.Integer, primary_key=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "meeting_feed_tokens",
        _user_fk("meeting_feed_tokens", primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_meeting_feed_tokens_token_hash"),
    )
    op.create_table(
        "user_profiles",
        _user_fk("user_profiles", primary_key=True),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("avatar", sa.LargeBinary, nullable=True),
        sa.Column("avatar_type", sa.String(32), nullable=True),
    )


def downgrade() -> None:
    for table in (
        "user_profiles",
        "meeting_feed_tokens",
        "meeting_reminders",
        "meeting_occurrences",
        "meeting_invitees",
        "meetings",
    ):
        op.drop_table(table)
