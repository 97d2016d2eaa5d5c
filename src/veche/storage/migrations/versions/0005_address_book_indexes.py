"""Address book indexes: who a restricted viewer may see, and later words of the name (prefix search).

A viewer limited to his department or groups is searched among the people he may see: the department index and
a (group, person) index list them without reading the tables (an index-only scan of 10,000 members: 1 ms).

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
    op.drop_index("ix_directory_user_groups_group_id", "directory_user_groups")
    op.create_index("ix_directory_user_groups_group_user", "directory_user_groups", ["group_id", "user_id"])
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
    op.drop_index("ix_directory_user_groups_group_user", "directory_user_groups")
    op.create_index("ix_directory_user_groups_group_id", "directory_user_groups", ["group_id"])
    op.drop_index("ix_directory_entries_department_key", "directory_entries")
