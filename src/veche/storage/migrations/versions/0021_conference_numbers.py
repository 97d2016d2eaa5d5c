"""Conference numbers for SIP dial-in (issue 13): every conference gets a unique number of digits.

Revision ID: 0021
Revises: 0020
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def _number() -> str:
    # The same form as base/conference_numbers.new_conference_number (8 digits, no leading zero); a migration
    # keeps its own copy so it never changes with the application code.
    return str(10_000_000 + secrets.randbelow(90_000_000))


def upgrade() -> None:
    with op.batch_alter_table("conferences") as batch:
        batch.add_column(sa.Column("number", sa.String(16), nullable=True))
    connection = op.get_bind()
    conferences = sa.table("conferences", sa.column("id", sa.Integer), sa.column("number", sa.String))
    used: set[str] = set()
    for (conference_id,) in connection.execute(sa.select(conferences.c.id)).all():
        number = _number()
        while number in used:
            number = _number()
        used.add(number)
        connection.execute(conferences.update().where(conferences.c.id == conference_id).values(number=number))
    with op.batch_alter_table("conferences") as batch:
        batch.alter_column("number", existing_type=sa.String(16), nullable=False)
        batch.create_unique_constraint("uq_conferences_number", ["number"])


def downgrade() -> None:
    with op.batch_alter_table("conferences") as batch:
        batch.drop_constraint("uq_conferences_number", type_="unique")
        batch.drop_column("number")
