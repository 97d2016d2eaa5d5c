"""The search indexes a first large directory sync drops while it loads, and builds again afterwards.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directory_deferred_indexes",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("definition", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("directory_deferred_indexes")
