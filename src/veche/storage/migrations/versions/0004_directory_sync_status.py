"""Directory sync status: progress of the running full sync, its outcome, and whether changes are followed.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "directory_sync_status",
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("people_done", sa.Integer, nullable=False),
        sa.Column("groups_done", sa.Integer, nullable=False),
        sa.Column("expected_people", sa.Integer, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("beat_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("error_at", TS, nullable=True),
        sa.Column("following_seen_at", TS, nullable=True),
        sa.Column("last_change_at", TS, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("directory_sync_status")
