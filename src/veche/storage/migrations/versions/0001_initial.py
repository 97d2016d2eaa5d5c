"""Users, sessions, conferences, members, chat.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("login", sa.String(128), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=True),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("login", name="uq_users_login"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_sessions_user_id_users"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_sessions_token_hash"),
    )
    op.create_table(
        "conferences",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column(
            "owner_id",
            sa.Integer,
            sa.ForeignKey("users.id", name="fk_conferences_owner_id_users"),
            nullable=False,
        ),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("max_participants", sa.Integer, nullable=False),
        sa.Column("guests_allowed", sa.Boolean, nullable=False),
        sa.Column("access", sa.String(16), nullable=False),
        sa.Column("invite_code", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("invite_code", name="uq_conferences_invite_code"),
    )
    op.create_table(
        "conference_members",
        sa.Column(
            "conference_id",
            sa.Integer,
            sa.ForeignKey("conferences.id", ondelete="CASCADE", name="fk_conference_members_conference_id_conferences"),
            primary_key=True,
        ),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_conference_members_user_id_users"),
            primary_key=True,
        ),
        sa.Column("role", sa.String(16), primary_key=True),
    )
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "conference_id",
            sa.Integer,
            sa.ForeignKey("conferences.id", ondelete="CASCADE", name="fk_chat_messages_conference_id_conferences"),
            nullable=False,
        ),
        sa.Column("sender", sa.String(128), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_chat_messages_conference_created", "chat_messages", ["conference_id", "created_at"])


def downgrade() -> None:
    op.drop_table("chat_messages")
    op.drop_table("conference_members")
    op.drop_table("conferences")
    op.drop_table("sessions")
    op.drop_table("users")
