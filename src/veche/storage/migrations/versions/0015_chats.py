"""Persistent chat: chats outside conferences, members, read positions; chat messages of those chats, with an
attached file, paged by id and searchable.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chats",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(256), nullable=False, server_default=""),
        sa.Column("direct_pair", sa.String(48), nullable=True),
        sa.Column(
            "created_by",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="SET NULL", name="fk_chats_created_by_users"),
            nullable=True,
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_message_id", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_message_at", TS, nullable=True),
        sa.UniqueConstraint("direct_pair", name="uq_chats_direct_pair"),
    )
    op.create_table(
        "chat_members",
        sa.Column(
            "chat_id",
            sa.Integer,
            sa.ForeignKey("chats.id", ondelete="CASCADE", name="fk_chat_members_chat_id_chats"),
            primary_key=True,
        ),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_chat_members_user_id_users"),
            primary_key=True,
        ),
        sa.Column("joined_at", TS, nullable=False),
        sa.Column("last_read_id", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_chat_members_user_id", "chat_members", ["user_id"])
    with op.batch_alter_table("chat_messages") as batch:
        batch.alter_column("conference_id", existing_type=sa.Integer, nullable=True)
        batch.add_column(sa.Column("chat_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("sender_user_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("file_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("file_name", sa.String(256), nullable=True))
        batch.add_column(sa.Column("file_size", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("file_type", sa.String(128), nullable=True))
        batch.create_foreign_key("fk_chat_messages_chat_id_chats", "chats", ["chat_id"], ["id"], ondelete="CASCADE")
        # A message belongs to one conference or one chat.
        batch.create_check_constraint("one_chat", "(conference_id IS NULL) <> (chat_id IS NULL)")
    # Pages scroll back by id (keyset): WHERE conference_id = ? AND id < ? ORDER BY id DESC.
    op.create_index("ix_chat_messages_conference_id_id", "chat_messages", ["conference_id", "id"])
    op.create_index("ix_chat_messages_chat_id_id", "chat_messages", ["chat_id", "id"])
    if op.get_bind().dialect.name == "postgresql":
        # Search is `lower(text) LIKE '%words%'` on both databases; on PostgreSQL a trigram index serves it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_chat_messages_text_trgm ON chat_messages USING gin (lower(text) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_chat_messages_text_trgm")
    op.drop_index("ix_chat_messages_chat_id_id", "chat_messages")
    op.drop_index("ix_chat_messages_conference_id_id", "chat_messages")
    op.execute("DELETE FROM chat_messages WHERE conference_id IS NULL")
    with op.batch_alter_table("chat_messages") as batch:
        batch.drop_constraint(op.f("ck_chat_messages_one_chat"), type_="check")
        batch.drop_constraint("fk_chat_messages_chat_id_chats", type_="foreignkey")
        for column in ("file_type", "file_size", "file_name", "file_id", "sender_user_id", "chat_id"):
            batch.drop_column(column)
        batch.alter_column("conference_id", existing_type=sa.Integer, nullable=False)
    op.drop_index("ix_chat_members_user_id", "chat_members")
    op.drop_table("chat_members")
    op.drop_table("chats")
