"""Precomputed search scopes: the members of large "own groups" groups, with their search keys.

A viewer whose access is ``own_groups`` may see the people of each of his groups. For a small group the address
book probes its members one by one (about 2 µs each); a group of 10,000 took 25 ms per search that way. So the
members of every group that has at least ``SCOPE_MIN_MEMBERS`` people and at least one member with the
``own_groups`` level (only such a member's visibility names it) are kept in ``directory_scope_members`` with their
search keys, and such a search is a few index ranges over (group, key). Rows carry the entry's fingerprint: a
person who changed is replaced; nothing else is written when nothing changed.

Refreshed at the end of every full sync and group change (all scope groups of the source), and for the people
a change touched (:func:`refresh_scopes` with ``user_ids``). Neighbours: ``address_book.py`` reads these rows,
``directory_groups.py`` computes the memberships they come from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, except_, func, insert, literal_column, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from veche.storage.directory_tables import (
    NO_SYNC,
    DirectoryEntryRow,
    DirectoryGroupRow,
    DirectoryScopeMemberRow,
    DirectoryUserGroupRow,
)

__all__ = ["SCOPE_MIN_MEMBERS", "refresh_scopes", "scope_groups"]

# Below this, probing the group's members is as fast as the index ranges (bench/directory.py: 200 people, 5 ms).
SCOPE_MIN_MEMBERS = 1_000

_OWN_GROUPS = 1  # access mask bit (domain.directory.access_mask)


def _word(n: int) -> ColumnElement[str]:
    return func.split_part(DirectoryEntryRow.name_key, literal_column("' '"), literal_column(str(n)))


async def scope_groups(session: AsyncSession, source: str) -> list[int]:
    """Groups of ``source`` that are some viewer's scope and large enough to be kept with search keys."""
    held, entry = DirectoryUserGroupRow, DirectoryEntryRow
    source_groups = select(DirectoryGroupRow.id).where(DirectoryGroupRow.source == source)
    viewers_groups = (
        select(held.group_id)
        .join(entry, entry.user_id == held.user_id)
        .where(held.group_id.in_(source_groups), entry.source == source, entry.access.op("&")(_OWN_GROUPS) != 0)
        .distinct()
    )
    large = (
        select(held.group_id)
        .where(held.group_id.in_(viewers_groups))
        .group_by(held.group_id)
        .having(func.count() >= SCOPE_MIN_MEMBERS)
    )
    return sorted(await session.scalars(large))


async def refresh_scopes(session: AsyncSession, source: str, *, user_ids: Sequence[int] | None = None) -> None:
    """Bring ``directory_scope_members`` of ``source`` up to date, writing only rows that differ.

    Without ``user_ids`` the set of scope groups is recomputed too; with them, only those people's rows in the
    groups already kept are.
    """
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite searches scan the table anyway (and has no split_part)
    scope = DirectoryScopeMemberRow
    source_groups = select(DirectoryGroupRow.id).where(DirectoryGroupRow.source == source)
    if user_ids is None:
        groups = await scope_groups(session, source)
        await session.execute(
            delete(scope).where(scope.scope_id.in_(source_groups), scope.scope_id.not_in(groups)),
            execution_options=NO_SYNC,
        )
    else:
        groups = sorted(
            await session.scalars(select(scope.scope_id).where(scope.scope_id.in_(source_groups)).distinct())
        )
    if not groups:
        return
    held, entry = DirectoryUserGroupRow, DirectoryEntryRow
    conditions: list[ColumnElement[bool]] = [held.group_id.in_(groups)]
    stored_conditions: list[ColumnElement[bool]] = [scope.scope_id.in_(groups)]
    if user_ids is not None:
        conditions.append(held.user_id.in_(list(user_ids)))
        stored_conditions.append(scope.user_id.in_(list(user_ids)))
    wanted = (
        select(
            held.group_id,
            entry.user_id,
            entry.name_key,
            _word(2),
            _word(3),
            entry.login_key,
            entry.email_key,
            entry.search_text,
            entry.fingerprint,
        )
        .join(entry, entry.user_id == held.user_id)
        .where(*conditions)
    )
    identity: list[Any] = [held.group_id, entry.user_id, entry.fingerprint]
    wanted_ids = select(*identity).join(entry, entry.user_id == held.user_id).where(*conditions)
    stored_ids = select(scope.scope_id, scope.user_id, scope.fingerprint).where(*stored_conditions)
    await session.execute(
        delete(scope).where(
            *stored_conditions,
            tuple_(scope.scope_id, scope.user_id, scope.fingerprint).in_(except_(stored_ids, wanted_ids)),
        ),
        execution_options=NO_SYNC,
    )
    missing = wanted.where(
        ~select(scope.user_id)
        .where(
            and_(
                scope.scope_id == held.group_id, scope.user_id == entry.user_id, scope.fingerprint == entry.fingerprint
            )
        )
        .exists()
    )
    columns = [
        "scope_id",
        "user_id",
        "name_key",
        "word2_key",
        "word3_key",
        "login_key",
        "email_key",
        "search_text",
        "fingerprint",
    ]
    await session.execute(insert(scope).from_select(columns, missing))
