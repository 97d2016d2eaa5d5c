"""The call history's hourly and daily roll-ups for the Statistics page (time in conferences, sessions).

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in ("usage_call_hourly", "usage_call_daily"):
        op.create_table(
            name,
            sa.Column("scope", sa.String(100), primary_key=True),
            sa.Column("at", sa.BigInteger, primary_key=True),
            sa.Column("participant_ms", sa.BigInteger, nullable=False),
            sa.Column("sessions", sa.BigInteger, nullable=False),
        )
    op.create_index("ix_usage_call_hourly_at", "usage_call_hourly", ["at"])  # retention deletes by time


def downgrade() -> None:
    op.drop_index("ix_usage_call_hourly_at", "usage_call_hourly")
    op.drop_table("usage_call_daily")
    op.drop_table("usage_call_hourly")
