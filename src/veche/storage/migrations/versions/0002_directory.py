"""Address book and directory sync: entries, groups, memberships, sync state; pg_trgm search on PostgreSQL.

Revision ID: 0002
Revises: 0001
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from veche.domain.directory import search_key, search_text

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _key(length: int) -> sa.types.TypeEngine[str]:
    # Byte-wise comparison on PostgreSQL so `key >= 'ab' AND key < 'ac'` prefix ranges use the b-tree.
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "directory_entries",
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_directory_entries_user_id_users"),
            primary_key=True,
        ),
        sa.Column("source", sa.String(32), nullable=True),
        sa.Column("external_id", sa.String(64), nullable=True),
        sa.Column("dn", sa.String(1024), nullable=True),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.Column("department", sa.String(256), nullable=False),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("name_key", _key(256), nullable=False),
        sa.Column("login_key", _key(128), nullable=False),
        sa.Column("email_key", _key(320), nullable=False),
        sa.Column("department_key", sa.String(256), nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.Column("access", sa.Integer, nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("source", "external_id", name="uq_directory_entries_source_external_id"),
    )
    for column in ("name_key", "login_key", "email_key"):
        op.create_index(f"ix_directory_entries_{column}", "directory_entries", [column])
    op.create_table(
        "directory_groups",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("dn", sa.String(1024), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("seen_generation", sa.Integer, nullable=False),
        sa.UniqueConstraint("source", "external_id", name="uq_directory_groups_source_external_id"),
    )
    op.create_index("ix_directory_groups_source_dn", "directory_groups", ["source", "dn"])
    op.create_table(
        "directory_group_members",
        sa.Column(
            "group_id",
            sa.Integer,
            sa.ForeignKey(
                "directory_groups.id", name="fk_directory_group_members_group_id_directory_groups", ondelete="CASCADE"
            ),
            primary_key=True,
        ),
        sa.Column("member_dn", sa.String(1024), primary_key=True),
    )
    op.create_index("ix_directory_group_members_member_dn", "directory_group_members", ["member_dn"])
    op.create_table(
        "directory_group_closure",
        sa.Column(
            "group_id",
            sa.Integer,
            sa.ForeignKey(
                "directory_groups.id", name="fk_directory_group_closure_group_id_directory_groups", ondelete="CASCADE"
            ),
            primary_key=True,
        ),
        sa.Column(
            "ancestor_id",
            sa.Integer,
            sa.ForeignKey(
                "directory_groups.id",
                name="fk_directory_group_closure_ancestor_id_directory_groups",
                ondelete="CASCADE",
            ),
            primary_key=True,
        ),
    )
    op.create_table(
        "directory_user_groups",
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", name="fk_directory_user_groups_user_id_users", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "group_id",
            sa.Integer,
            sa.ForeignKey(
                "directory_groups.id", name="fk_directory_user_groups_group_id_directory_groups", ondelete="CASCADE"
            ),
            primary_key=True,
        ),
    )
    op.create_index("ix_directory_user_groups_group_id", "directory_user_groups", ["group_id"])
    op.create_table(
        "directory_sync_seen",
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("external_id", sa.String(64), primary_key=True),
    )
    op.create_table(
        "directory_sync_state",
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("users_done", sa.Integer, nullable=False),
        sa.Column("last_full_count", sa.Integer, nullable=False),
        sa.Column("cookie", sa.LargeBinary, nullable=True),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    if postgres:
        # Substring search (LIKE '%text%') through trigrams. Trigrams of non-ASCII letters (Cyrillic) are only
        # extracted when the database's LC_CTYPE is a UTF-8 locale; with LC_CTYPE=C results stay correct, slower.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_directory_entries_search_trgm ON directory_entries USING gin (search_text gin_trgm_ops)"
        )
    _backfill_local_users()


def _backfill_local_users() -> None:
    """Every existing (local) user gets his address book entry."""
    bind = op.get_bind()
    users = bind.execute(sa.text("SELECT id, login, display_name, email FROM users")).all()
    if not users:
        return
    entries = sa.table(
        "directory_entries",
        *(
            sa.column(name)
            for name in (
                "user_id",
                "phone",
                "department",
                "title",
                "name_key",
                "login_key",
                "email_key",
                "department_key",
                "search_text",
                "access",
                "fingerprint",
                "updated_at",
            )
        ),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        entries,
        [
            {
                "user_id": u.id,
                "phone": "",
                "department": "",
                "title": "",
                "name_key": search_key(u.display_name),
                "login_key": search_key(u.login),
                "email_key": search_key(u.email),
                "department_key": "",
                "search_text": search_text(u.login, u.display_name, u.email),
                "access": 4,
                "fingerprint": "",
                "updated_at": now,
            }
            for u in users
        ],
    )


def downgrade() -> None:
    op.drop_table("directory_sync_state")
    op.drop_table("directory_sync_seen")
    op.drop_table("directory_user_groups")
    op.drop_table("directory_group_closure")
    op.drop_table("directory_group_members")
    op.drop_table("directory_groups")
    op.drop_table("directory_entries")
