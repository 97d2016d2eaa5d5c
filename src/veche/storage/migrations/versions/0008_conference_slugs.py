"""Conference pages are addressed by a random slug (/c/<slug>), not by the sequential id.

Revision ID: 0008
Revises: 0007
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conferences") as batch:
        batch.add_column(sa.Column("slug", sa.String(32), nullable=True))
    connection = op.get_bind()
    conferences = sa.table("conferences", sa.column("id", sa.Integer), sa.column("slug", sa.String))
    for (conference_id,) in connection.execute(sa.select(conferences.c.id)).all():
        connection.execute(
            conferences.update().where(conferences.c.id == conference_id).values(slug=secrets.token_urlsafe(9))
        )
    with op.batch_alter_table("conferences") as batch:
        batch.alter_column("slug", existing_type=sa.String(32), nullable=False)
        batch.create_unique_constraint("uq_conferences_slug", ["slug"])


def downgrade() -> None:
    with op.batch_alter_table("conferences") as batch:
        batch.drop_constraint("uq_conferences_slug", type_="unique")
        batch.drop_column("slug")
