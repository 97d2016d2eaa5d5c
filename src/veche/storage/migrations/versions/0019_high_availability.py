"""High availability: components and leader locks (issue 16).

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Leader locks of roles with one active server (the manager), and their take-overs for the console.
    op.create_table(
        "leader_locks",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "leader_takeovers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("previous", sa.String(128), nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
    )
    # The login throttle's counters, shared by every web server.
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(700), primary_key=True),
        sa.Column("failures", sa.JSON, nullable=False),
        sa.Column("strikes", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.Float, nullable=False),
        sa.Column("last_failure", sa.Float, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_login_throttle_updated_at", "login_throttle", ["updated_at"])  # forgetting idle counters
    # Work every base server hears of, claimed by the one that does it.
    op.create_table(
        "work_claims",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_work_claims_claimed_until", "work_claims", ["claimed_until"])


def downgrade() -> None:
    op.drop_index("ix_work_claims_claimed_until", "work_claims")
    op.drop_table("work_claims")
    op.drop_index("ix_login_throttle_updated_at", "login_throttle")
    op.drop_table("login_throttle")
    op.drop_table("leader_takeovers")
    op.drop_table("leader_locks")
