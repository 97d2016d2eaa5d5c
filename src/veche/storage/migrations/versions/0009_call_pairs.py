"""Ad hoc calls between two users share one conference per pair (calling again reuses it).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conferences") as batch:
        batch.add_column(sa.Column("call_pair", sa.String(48), nullable=True))
        batch.create_unique_constraint("uq_conferences_call_pair", ["call_pair"])


def downgrade() -> None:
    with op.batch_alter_table("conferences") as batch:
        batch.drop_constraint("uq_conferences_call_pair", type_="unique")
        batch.drop_column("call_pair")
