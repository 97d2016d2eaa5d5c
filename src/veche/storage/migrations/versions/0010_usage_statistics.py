"""Usage statistics: samples per scope and minute, with hourly and daily roll-ups kept as sums.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ROLLUP_SUMS = (
    ("samples", sa.Integer),
    ("seconds", sa.BigInteger),
    ("cpu_seconds", sa.Float),
    ("conference_seconds", sa.Float),
    ("participant_seconds", sa.Float),
    ("peak_participants", sa.Integer),
    ("bytes_in", sa.Float),
    ("bytes_out", sa.Float),
    ("refusals", sa.BigInteger),
    ("failovers", sa.BigInteger),
)


def upgrade() -> None:
    op.create_table(
        "usage_samples",
        sa.Column("scope", sa.String(100), primary_key=True),
        sa.Column("at", sa.BigInteger, primary_key=True),
        sa.Column("seconds", sa.Integer, nullable=False),
        sa.Column("servers", sa.Integer, nullable=False),
        sa.Column("cpu_use", sa.Float, nullable=False),
        sa.Column("conferences", sa.Float, nullable=False),
        sa.Column("participants", sa.Float, nullable=False),
        sa.Column("peak_participants", sa.Integer, nullable=False),
        sa.Column("net_in_bps", sa.Float, nullable=False),
        sa.Column("net_out_bps", sa.Float, nullable=False),
        sa.Column("refusals", sa.Integer, nullable=False),
        sa.Column("failovers", sa.Integer, nullable=False),
    )
    # Retention deletes by time across scopes.
    op.create_index("ix_usage_samples_at", "usage_samples", ["at"])
    for table in ("usage_hourly", "usage_daily"):
        op.create_table(
            table,
            sa.Column("scope", sa.String(100), primary_key=True),
            sa.Column("at", sa.BigInteger, primary_key=True),
            *(sa.Column(name, kind, nullable=False) for name, kind in ROLLUP_SUMS),
        )
    op.create_index("ix_usage_hourly_at", "usage_hourly", ["at"])


def downgrade() -> None:
    op.drop_index("ix_usage_hourly_at", "usage_hourly")
    op.drop_table("usage_daily")
    op.drop_table("usage_hourly")
    op.drop_index("ix_usage_samples_at", "usage_samples")
    op.drop_table("usage_samples")
