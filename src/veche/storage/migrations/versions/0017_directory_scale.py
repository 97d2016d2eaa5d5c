"""The directory at a million people: re-syncs that write only what changed, search fast for every viewer.

- ``directory_groups.fingerprint``: a group whose DN, name and members are unchanged is not rewritten;
- ``directory_sync_state.seen_people``: the people a running pass has seen, as a compressed bitmap of user ids
  stored with its checkpoint, instead of one ``directory_sync_seen`` row per person and pass (dropped);
- PostgreSQL: the (source, external_id) index carries user_id and fingerprint, so a re-sync compares a page
  of people from the index alone;
- a department's people by each search key: (department_key, name / 2nd word / 3rd word / login / email), and
  the trigram index over (department_key, search_text) (``btree_gin``, a trusted extension), so a viewer limited
  to his department is searched by index ranges, not by filtering everyone's matches;
- ``directory_scope_members``: the members of large groups that are some viewer's "own groups" scope, with their
  search keys, indexed by (group, key), and on PostgreSQL by (group, trigrams);
- ``directory_watch_leases``: which base server follows a source's changes, until when.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _key(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("directory_groups") as table:
        table.add_column(sa.Column("fingerprint", sa.String(32), nullable=False, server_default=""))
    with op.batch_alter_table("directory_sync_state") as table:
        table.add_column(sa.Column("seen_people", sa.LargeBinary, nullable=True))
    op.drop_table("directory_sync_seen")

    op.drop_index("ix_directory_entries_department_key", "directory_entries")
    for name, column in (("name", "name_key"), ("login", "login_key"), ("email", "email_key")):
        op.create_index(f"ix_directory_entries_department_{name}", "directory_entries", ["department_key", column])
    if postgres:
        for n in (2, 3):  # spelled exactly as storage/address_book.py queries it (literals)
            op.execute(
                f"CREATE INDEX ix_directory_entries_department_word{n} "
                f"ON directory_entries (department_key, split_part(name_key, ' ', {n}))"
            )
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        op.execute("DROP INDEX ix_directory_entries_search_trgm")
        op.execute(
            "CREATE INDEX ix_directory_entries_search_trgm ON directory_entries "
            "USING gin (department_key, search_text gin_trgm_ops)"
        )
        op.execute("ALTER TABLE directory_entries DROP CONSTRAINT uq_directory_entries_source_external_id")
        op.execute(
            "CREATE UNIQUE INDEX uq_directory_entries_source_external_id ON directory_entries "
            "(source, external_id) INCLUDE (user_id, fingerprint)"
        )

    op.create_table(
        "directory_scope_members",
        sa.Column(
            "scope_id",
            sa.Integer,
            sa.ForeignKey(
                "directory_groups.id", name="fk_directory_scope_members_scope_id_directory_groups", ondelete="CASCADE"
            ),
            primary_key=True,
        ),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", name="fk_directory_scope_members_user_id_users", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name_key", _key(256), nullable=False),
        sa.Column("word2_key", _key(256), nullable=False),
        sa.Column("word3_key", _key(256), nullable=False),
        sa.Column("login_key", _key(128), nullable=False),
        sa.Column("email_key", _key(320), nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
    )
    for name, column in (
        ("name", "name_key"),
        ("word2", "word2_key"),
        ("word3", "word3_key"),
        ("login", "login_key"),
        ("email", "email_key"),
    ):
        op.create_index(f"ix_directory_scope_members_{name}", "directory_scope_members", ["scope_id", column])
    op.create_index("ix_directory_scope_members_user", "directory_scope_members", ["user_id"])
    if postgres:  # a scope group's substring matches from the index, as a department's
        op.execute(
            "CREATE INDEX ix_directory_scope_members_search ON directory_scope_members "
            "USING gin (scope_id, search_text gin_trgm_ops)"
        )

    op.create_table(
        "directory_watch_leases",
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_table("directory_watch_leases")
    op.drop_table("directory_scope_members")
    if postgres:
        op.execute("DROP INDEX uq_directory_entries_source_external_id")
        op.execute(
            "ALTER TABLE directory_entries ADD CONSTRAINT uq_directory_entries_source_external_id "
            "UNIQUE (source, external_id)"
        )
        op.execute("DROP INDEX ix_directory_entries_search_trgm")
        op.execute(
            "CREATE INDEX ix_directory_entries_search_trgm ON directory_entries USING gin (search_text gin_trgm_ops)"
        )
        for n in (2, 3):
            op.execute(f"DROP INDEX ix_directory_entries_department_word{n}")
    for name in ("name", "login", "email"):
        op.drop_index(f"ix_directory_entries_department_{name}", "directory_entries")
    op.create_index("ix_directory_entries_department_key", "directory_entries", ["department_key"])
    op.create_table(
        "directory_sync_seen",
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("external_id", sa.String(64), primary_key=True),
    )
    with op.batch_alter_table("directory_sync_state") as table:
        table.drop_column("seen_people")
    with op.batch_alter_table("directory_groups") as table:
        table.drop_column("fingerprint")
