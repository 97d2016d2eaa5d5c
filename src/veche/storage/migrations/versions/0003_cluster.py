"""Cluster: server catalog, shared settings, conference placements.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "servers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("roles", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("approved", sa.Boolean, nullable=False),
        sa.Column("draining", sa.Boolean, nullable=False),
        sa.Column("max_participants", sa.Integer, nullable=False),
        sa.Column("registered_at", TS, nullable=False),
    )
    op.create_table(
        "shared_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "conference_placements",
        sa.Column("conference_id", sa.Integer, primary_key=True),
        sa.Column("server_id", sa.String(64), nullable=False),
        sa.Column("signaling_url", sa.String(512), nullable=False),
        sa.Column("placed_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("conference_placements")
    op.drop_table("shared_settings")
    op.drop_table("servers")
