"""A conference's placement becomes a set of legs with an epoch; the license pool's leases, epoch and usage.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conference_legs",
        sa.Column("conference_id", sa.Integer, primary_key=True),
        sa.Column("leg", sa.String(64), primary_key=True),
        sa.Column("server_id", sa.String(64), nullable=False),
        sa.Column("signaling_url", sa.String(512), nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
    )
    # Running conferences keep their server; their epoch starts at 1.
    op.execute(
        "INSERT INTO conference_legs (conference_id, leg, server_id, signaling_url, epoch, placed_at) "
        "SELECT conference_id, '', server_id, signaling_url, 1, placed_at FROM conference_placements"
    )
    op.drop_table("conference_placements")
    op.create_table(
        "license_leases",
        sa.Column("server_id", sa.String(64), primary_key=True),
        sa.Column("pool", sa.String(32), primary_key=True),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("slots", sa.Integer, nullable=False),
        sa.Column("floor", sa.Integer, nullable=False),
    )
    op.create_table(
        "license_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("epoch", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "license_usage",
        sa.Column("at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("pool", sa.String(32), primary_key=True),
        sa.Column("in_use", sa.Integer, nullable=False),
        sa.Column("leased", sa.Integer, nullable=False),
        sa.Column("refusals", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("license_usage")
    op.drop_table("license_state")
    op.drop_table("license_leases")
    op.create_table(
        "conference_placements",
        sa.Column("conference_id", sa.Integer, primary_key=True),
        sa.Column("server_id", sa.String(64), nullable=False),
        sa.Column("signaling_url", sa.String(512), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "INSERT INTO conference_placements (conference_id, server_id, signaling_url, placed_at) "
        "SELECT conference_id, server_id, signaling_url, placed_at FROM conference_legs WHERE leg = ''"
    )
    op.drop_table("conference_legs")
