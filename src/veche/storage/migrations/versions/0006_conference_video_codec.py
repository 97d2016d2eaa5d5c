"""Conferences choose their video: VP8 simulcast or VP9 SVC (NULL: the cluster's default).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conferences") as batch:
        batch.add_column(sa.Column("video_codec", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conferences") as batch:
        batch.drop_column("video_codec")
