"""Nested groups, roles and access levels of a source, computed in SQL from the stored direct memberships.

Group-to-group edges are few (thousands) and resolved in memory (:func:`group_ancestors`); person memberships
(millions) are expanded by one INSERT ... SELECT, so a large directory never passes through Python here.

A posixGroup lists its members by login (``memberUid``), not DN: such a member is stored as
``memberuid=<login key>`` (:func:`login_member`), which no person's DN can be (a DN also names the entry's parent),
and matched against people's ``login_key``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    union,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from veche.domain.directory import AccessLevel, access_mask, group_ancestors, normalize_dn, search_key
from veche.storage.directory_tables import (
    NO_SYNC,
    DirectoryEntryRow,
    DirectoryGroupClosureRow,
    DirectoryGroupMemberRow,
    DirectoryGroupRow,
    DirectoryUserGroupRow,
)
from veche.storage.tables import UserRow

__all__ = ["GroupRules", "derive_access_and_roles", "login_member", "resolve_memberships"]

_BATCH = 5000
_LOGIN_MEMBER_PREFIX = "memberuid="


def login_member(login: str) -> str:
    """A group member listed by login (posixGroup ``memberUid``), as stored among member DNs."""
    return _LOGIN_MEMBER_PREFIX + search_key(login)[:128]


@dataclass(frozen=True)
class GroupRules:
    """Group-to-role and group-to-access-level mapping of one source; groups named by name or DN."""

    admin_groups: tuple[str, ...] = ()
    access: Mapping[str, AccessLevel] = field(default_factory=dict)
    default_access: AccessLevel = AccessLevel.EVERYONE

    def matches(self, wanted: Sequence[str], dn: str, name: str) -> bool:
        return any(normalize_dn(w) == dn or search_key(w) == search_key(name) for w in wanted)


async def resolve_memberships(session: AsyncSession, source: str, *, user_ids: Sequence[int] | None = None) -> None:
    """Rebuild the group closure of ``source`` and its people's (transitive) groups.

    With ``user_ids``, only those people's groups are rebuilt from the stored closure.
    """
    source_groups = select(DirectoryGroupRow.id).where(DirectoryGroupRow.source == source)
    if user_ids is None:
        await _rebuild_closure(session, source)
        scope = select(DirectoryEntryRow.user_id).where(DirectoryEntryRow.source == source)
        await session.execute(
            delete(DirectoryUserGroupRow).where(DirectoryUserGroupRow.user_id.in_(scope)), execution_options=NO_SYNC
        )
    else:
        await session.execute(
            delete(DirectoryUserGroupRow).where(DirectoryUserGroupRow.user_id.in_(list(user_ids))),
            execution_options=NO_SYNC,
        )
    person, member = DirectoryEntryRow, DirectoryGroupMemberRow

    def memberships(matches: ColumnElement[bool]) -> Select[int, int]:
        query = (
            select(person.user_id, DirectoryGroupClosureRow.ancestor_id)
            .join(member, and_(person.source == source, matches))
            .join(DirectoryGroupClosureRow, DirectoryGroupClosureRow.group_id == member.group_id)
            .where(member.group_id.in_(source_groups))
        )
        return query if user_ids is None else query.where(person.user_id.in_(list(user_ids)))

    by_dn = memberships(member.member_dn == person.dn)
    # A source's groups name their members one way (its group_member attribute): one stored member tells which.
    # Checked so that a directory of DNs never pays for the join on logins.
    first = await session.scalar(select(member.member_dn).where(member.group_id.in_(source_groups)).limit(1))
    if first is not None and first.startswith(_LOGIN_MEMBER_PREFIX):
        login = func.substr(member.member_dn, len(_LOGIN_MEMBER_PREFIX) + 1)
        by_login = memberships(and_(member.member_dn.startswith(_LOGIN_MEMBER_PREFIX), person.login_key == login))
        query: Select[int, int] | CompoundSelect[int, int] = union(by_dn, by_login)
    else:
        query = by_dn.distinct()
    await session.execute(insert(DirectoryUserGroupRow).from_select(["user_id", "group_id"], query))


async def _rebuild_closure(session: AsyncSession, source: str) -> None:
    groups = (
        await session.execute(
            select(DirectoryGroupRow.id, DirectoryGroupRow.dn).where(DirectoryGroupRow.source == source)
        )
    ).all()
    by_dn = {g.dn: g.id for g in groups}
    parents: dict[int, list[int]] = {g.id: [] for g in groups}
    edges = await session.execute(
        select(DirectoryGroupMemberRow.group_id, DirectoryGroupMemberRow.member_dn)
        .join(DirectoryGroupRow, DirectoryGroupRow.id == DirectoryGroupMemberRow.group_id)
        .where(
            DirectoryGroupRow.source == source,
            DirectoryGroupMemberRow.member_dn.in_(
                select(DirectoryGroupRow.dn).where(DirectoryGroupRow.source == source)
            ),
        )
    )
    for parent_id, member_dn in edges:
        child = by_dn.get(member_dn)
        if child is not None:
            parents[child].append(parent_id)
    closure = group_ancestors(parents)
    source_groups = select(DirectoryGroupRow.id).where(DirectoryGroupRow.source == source)
    await session.execute(
        delete(DirectoryGroupClosureRow).where(DirectoryGroupClosureRow.group_id.in_(source_groups)),
        execution_options=NO_SYNC,
    )
    rows = [{"group_id": g, "ancestor_id": a} for g, ancestors in closure.items() for a in ancestors]
    for i in range(0, len(rows), _BATCH):
        await session.execute(insert(DirectoryGroupClosureRow), rows[i : i + _BATCH])


def _member_of(group_ids: set[int]) -> ColumnElement[bool]:
    if not group_ids:
        return literal(False)
    return DirectoryEntryRow.user_id.in_(
        select(DirectoryUserGroupRow.user_id).where(DirectoryUserGroupRow.group_id.in_(sorted(group_ids)))
    )


async def derive_access_and_roles(
    session: AsyncSession, source: str, rules: GroupRules, *, user_ids: Sequence[int] | None = None
) -> None:
    """Set each person's access mask and administrator flag from his groups; rows already right are not written."""
    groups = (
        await session.execute(
            select(DirectoryGroupRow.id, DirectoryGroupRow.dn, DirectoryGroupRow.name).where(
                DirectoryGroupRow.source == source
            )
        )
    ).all()
    by_level: dict[AccessLevel, set[int]] = {level: set() for level in AccessLevel}
    for name_or_dn, level in rules.access.items():
        by_level[level] |= {g.id for g in groups if rules.matches([name_or_dn], g.dn, g.name)}
    mapped = set().union(*by_level.values())
    admins = {g.id for g in groups if rules.matches(rules.admin_groups, g.dn, g.name)}

    scope: list[ColumnElement[bool]] = [DirectoryEntryRow.source == source]
    if user_ids is not None:
        scope.append(DirectoryEntryRow.user_id.in_(list(user_ids)))
    target: ColumnElement[int] = literal(0)
    for level, ids in by_level.items():
        bit = access_mask([level])
        if ids and bit:
            target = target + case((_member_of(ids), bit), else_=0)
    new_access = case((_member_of(mapped), target), else_=access_mask([rules.default_access]))
    await session.execute(
        update(DirectoryEntryRow).where(*scope, DirectoryEntryRow.access != new_access).values(access=new_access),
        execution_options=NO_SYNC,
    )

    people = select(DirectoryEntryRow.user_id).where(*scope)
    admin_people = select(DirectoryEntryRow.user_id).where(*scope, _member_of(admins))
    await session.execute(
        update(UserRow)
        .where(UserRow.id.in_(people), UserRow.is_admin.is_(True), UserRow.id.not_in(admin_people))
        .values(is_admin=False),
        execution_options=NO_SYNC,
    )
    if admins:
        await session.execute(
            update(UserRow).where(UserRow.id.in_(admin_people), UserRow.is_admin.is_(False)).values(is_admin=True),
            execution_options=NO_SYNC,
        )
