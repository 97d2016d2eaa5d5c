"""Files sent in chats.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_files",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("chat", sa.String(40), nullable=False),
        sa.Column("uploader", sa.String(80), nullable=False),
        sa.Column("uploader_name", sa.String(256), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(127), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_files"),
    )
    op.create_index("ix_chat_files_chat_created_at", "chat_files", ["chat", "created_at"])
    op.create_index("ix_chat_files_created_at", "chat_files", ["created_at"])
    op.create_table(
        "file_usage",
        sa.Column("uploader", sa.String(80), nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("files", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("uploader", name="pk_file_usage"),
    )


def downgrade() -> None:
    op.drop_table("file_usage")
    op.drop_index("ix_chat_files_created_at", table_name="chat_files")
    op.drop_index("ix_chat_files_chat_created_at", table_name="chat_files")
    op.drop_table("chat_files")
