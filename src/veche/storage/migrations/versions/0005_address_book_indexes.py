"""Address book indexes: department (visibility "own department"), later words of the name (prefix search).

"Петров" typed by a user is a prefix of the second or third word of "Иван Петров" / "Пётр Иванович Петров": on
PostgreSQL those words get b-tree expression indexes, so such searches are index range scans instead of trigram
matches (which cost in proportion to how many people share the letters: 30 ms for a common surname at a million
people). SQLite scans anyway and gets only the department index.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

WORDS = (2, 3)


def upgrade() -> None:
    op.create_index("ix_directory_entries_department_key", "directory_entries", ["department_key"])
    if op.get_bind().dialect.name == "postgresql":
        for n in WORDS:
            # Spelled exactly as storage/address_book.py queries it (literals), or the planner would not use it.
            op.execute(
                f"CREATE INDEX ix_directory_entries_name_word{n} ON directory_entries (split_part(name_key, ' ', {n}))"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for n in WORDS:
            op.execute(f"DROP INDEX ix_directory_entries_name_word{n}")
    op.drop_index("ix_directory_entries_department_key", "directory_entries")
