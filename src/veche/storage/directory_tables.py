"""Tables of the address book and directory sync. Created by migrations 0002_directory, 0004, 0005, 0017 and 0020.

``directory_entries`` has one row per person in the address book, local users included (``source`` NULL),
so that one (trigram-indexed) column answers every search.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from veche.storage.tables import Base

__all__ = [
    "DirectoryEntryRow",
    "DirectoryGroupClosureRow",
    "DirectoryGroupMemberRow",
    "DirectoryGroupRow",
    "DirectoryDeferredIndexRow",
    "DirectoryScopeMemberRow",
    "DirectorySyncStateRow",
    "DirectorySyncStatusRow",
    "DirectoryUserGroupRow",
    "DirectoryWatchLeaseRow",
    "NO_SYNC",
    "prefix_key",
]

# For UPDATE/DELETE statements over many rows: the ORM would otherwise fetch every affected row's key (RETURNING)
# to update objects in the session, which sessions here never hold (2 million rows: 700 MB in a re-sync).
NO_SYNC = {"synchronize_session": False}


def prefix_key(length: int) -> TypeEngine[str]:
    """A string compared byte by byte (collation "C" on PostgreSQL), so prefix ranges use a plain b-tree."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class DirectoryEntryRow(Base):
    __tablename__ = "directory_entries"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str | None] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(64))
    dn: Mapped[str | None] = mapped_column(String(1024))
    phone: Mapped[str] = mapped_column(String(64), default="")
    department: Mapped[str] = mapped_column(String(256), default="")
    title: Mapped[str] = mapped_column(String(256), default="")
    name_key: Mapped[str] = mapped_column(prefix_key(256))
    login_key: Mapped[str] = mapped_column(prefix_key(128))
    email_key: Mapped[str] = mapped_column(prefix_key(320))
    department_key: Mapped[str] = mapped_column(String(256), default="")
    search_text: Mapped[str] = mapped_column(Text)
    access: Mapped[int] = mapped_column(Integer, default=4)
    fingerprint: Mapped[str] = mapped_column(String(32), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Few indexes on purpose: every one slows down the initial load of a million people.
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_directory_entries_source_external_id"),
        Index("ix_directory_entries_name_key", "name_key"),
        Index("ix_directory_entries_login_key", "login_key"),
        Index("ix_directory_entries_email_key", "email_key"),
        # A department's people by each search key (migration 0017): a viewer limited to his department is
        # searched by index ranges. On PostgreSQL also (department, 2nd / 3rd word of the name), and one GIN
        # index over (department_key, search_text trigrams) serving every substring search (btree_gin).
        Index("ix_directory_entries_department_name", "department_key", "name_key"),
        Index("ix_directory_entries_department_login", "department_key", "login_key"),
        Index("ix_directory_entries_department_email", "department_key", "email_key"),
    )


class DirectoryGroupRow(Base):
    __tablename__ = "directory_groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(64))
    dn: Mapped[str] = mapped_column(String(1024))
    name: Mapped[str] = mapped_column(String(256))
    seen_generation: Mapped[int] = mapped_column(Integer, default=0)  # unused since 0017 (seen ids are in memory)
    fingerprint: Mapped[str] = mapped_column(String(32), default="")  # DirectoryGroup.fingerprint(): skip unchanged
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_directory_groups_source_external_id"),
        Index("ix_directory_groups_source_dn", "source", "dn"),
    )


class DirectoryGroupMemberRow(Base):
    """A direct member (person or group) of a group, by normalized DN, as the directory lists it."""

    __tablename__ = "directory_group_members"
    group_id: Mapped[int] = mapped_column(ForeignKey("directory_groups.id", ondelete="CASCADE"), primary_key=True)
    member_dn: Mapped[str] = mapped_column(String(1024), primary_key=True)
    __table_args__ = (Index("ix_directory_group_members_member_dn", "member_dn"),)


class DirectoryGroupClosureRow(Base):
    """Group ``group_id`` is (transitively) inside ``ancestor_id``; every group is its own ancestor."""

    __tablename__ = "directory_group_closure"
    group_id: Mapped[int] = mapped_column(ForeignKey("directory_groups.id", ondelete="CASCADE"), primary_key=True)
    ancestor_id: Mapped[int] = mapped_column(ForeignKey("directory_groups.id", ondelete="CASCADE"), primary_key=True)


class DirectoryUserGroupRow(Base):
    """A person's groups, nested groups resolved."""

    __tablename__ = "directory_user_groups"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("directory_groups.id", ondelete="CASCADE"), primary_key=True)
    __table_args__ = (Index("ix_directory_user_groups_group_user", "group_id", "user_id"),)


class DirectoryScopeMemberRow(Base):
    """A member of a large group that is some viewer's "own groups" scope, with his search keys.

    A viewer who may see his groups' people is searched, for such a group, by index ranges over
    (group, search key) instead of probing each of its members (see :mod:`veche.storage.address_scopes`).
    ``fingerprint`` is the entry's: a row whose person changed is replaced.
    """

    __tablename__ = "directory_scope_members"
    scope_id: Mapped[int] = mapped_column(ForeignKey("directory_groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    name_key: Mapped[str] = mapped_column(prefix_key(256))
    word2_key: Mapped[str] = mapped_column(prefix_key(256))
    word3_key: Mapped[str] = mapped_column(prefix_key(256))
    login_key: Mapped[str] = mapped_column(prefix_key(128))
    email_key: Mapped[str] = mapped_column(prefix_key(320))
    search_text: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(32), default="")
    __table_args__ = (
        Index("ix_directory_scope_members_name", "scope_id", "name_key"),
        Index("ix_directory_scope_members_word2", "scope_id", "word2_key"),
        Index("ix_directory_scope_members_word3", "scope_id", "word3_key"),
        Index("ix_directory_scope_members_login", "scope_id", "login_key"),
        Index("ix_directory_scope_members_email", "scope_id", "email_key"),
        Index("ix_directory_scope_members_user", "user_id"),
        # and on PostgreSQL a GIN index over (scope_id, search_text trigrams) (migration 0017)
    )


class DirectorySyncStateRow(Base):
    """Per source: the running or last full sync (its generation and phase, to resume) and the change cookie."""

    __tablename__ = "directory_sync_state"
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    phase: Mapped[str] = mapped_column(String(16), default="idle")  # idle | users | groups
    users_done: Mapped[int] = mapped_column(Integer, default=0)
    last_full_count: Mapped[int] = mapped_column(Integer, default=0)
    cookie: Mapped[bytes | None] = mapped_column(LargeBinary)
    seen_people: Mapped[bytes | None] = mapped_column(LargeBinary)  # SeenPeople of the running pass, at checkpoints
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class DirectorySyncStatusRow(Base):
    """Per source, what the console shows: the running full sync's progress (written about once a second by
    whichever process runs it, so any web server can show it), the outcome of the last one, and whether the
    base role is following changes. ``run_id`` is set while a sync runs; a ``beat_at`` older than a few
    seconds means its process is gone."""

    __tablename__ = "directory_sync_status"
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str | None] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(16), default="")  # console | command | automatic
    # connecting | people | indexing | groups | finishing while it runs; complete | failed | interrupted afterwards
    phase: Mapped[str] = mapped_column(String(16), default="")
    people_done: Mapped[int] = mapped_column(Integer, default=0)
    groups_done: Mapped[int] = mapped_column(Integer, default=0)
    expected_people: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    beat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    following_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_change_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DirectoryWatchLeaseRow(Base):
    """Which base server follows a source's changes. The holder renews ``expires_at`` every few seconds; once it
    has passed (the holder died), another base server takes the lease and follows the source instead."""

    __tablename__ = "directory_watch_leases"
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DirectoryDeferredIndexRow(Base):
    """A search index of ``directory_entries`` dropped for a first large sync, with its exact definition
    (``pg_get_indexdef``), until the sync builds it again at the end of its people phase. A row left behind by a
    sync that died is built by the next sync (PostgreSQL only; see :mod:`veche.storage.directory_indexes`)."""

    __tablename__ = "directory_deferred_indexes"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    definition: Mapped[str] = mapped_column(Text)
