"""Nested groups, roles and access levels of a source, computed in SQL from the stored direct memberships.

Group-to-group edges are few (thousands) and resolved in memory (:func:`group_ancestors`); person memberships
(millions) are expanded by one INSERT ... SELECT, so a large directory never passes through Python here.

A posixGroup lists its members by login (``memberUid``), not DN: such a member is stored as
``memberuid=<login key>`` (:func:`login_member`), which no person's DN can be (a DN also names the entry's parent),
and matched against people's ``login_key``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    case,
    delete,
    except_,
    func,
    insert,
    literal,
    select,
    tuple_,
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

__all__ = [
    "GroupRules",
    "derive_access_and_roles",
    "login_member",
    "rebuild_closure",
    "resolve_memberships",
    "users_listed_as",
]

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


async def resolve_memberships(
    session: AsyncSession, source: str, *, user_ids: Sequence[int] | None = None, closure: bool = True
) -> None:
    """Bring the group closure of ``source`` (unless ``closure`` is False) and its people's groups up to date.

    With ``user_ids``, only those people's groups, from the stored closure. Only the difference is written: a
    re-sync that changed nothing inserts and deletes no membership (it used to rewrite all two million).
    """
    source_groups = select(DirectoryGroupRow.id).where(DirectoryGroupRow.source == source)
    if user_ids is None and closure:
        await rebuild_closure(session, source)
    person, member = DirectoryEntryRow, DirectoryGroupMemberRow

    def memberships(matches: ColumnElement[bool]) -> Select[int, int]:
        query = (
            select(person.user_id, DirectoryGroupClosureRow.ancestor_id)
            .join(member, and_(person.source == source, matches))
            .join(DirectoryGroupClosureRow, DirectoryGroupClosureRow.group_id == member.group_id)
            .where(member.group_id.in_(source_groups))
        )
        return query if user_ids is None else query.where(person.user_id.in_(list(user_ids)))

    desired: Select[int, int] | CompoundSelect[int, int] = memberships(member.member_dn == person.dn)
    # A source's groups name their members one way (its group_member attribute): one stored member tells which.
    # Checked so that a directory of DNs never pays for the join on logins.
    first = await session.scalar(select(member.member_dn).where(member.group_id.in_(source_groups)).limit(1))
    if first is not None and first.startswith(_LOGIN_MEMBER_PREFIX):
        login = func.substr(member.member_dn, len(_LOGIN_MEMBER_PREFIX) + 1)
        by_login = memberships(and_(member.member_dn.startswith(_LOGIN_MEMBER_PREFIX), person.login_key == login))
        desired = union(desired, by_login)
    wanted = select(desired.subquery())  # a compound inside EXCEPT must be a subquery (SQLite has no parentheses)
    held = DirectoryUserGroupRow
    scope = (
        held.user_id.in_(select(person.user_id).where(person.source == source))
        if user_ids is None
        else held.user_id.in_(list(user_ids))
    )
    stored = select(held.user_id, held.group_id).where(scope)
    if await session.scalar(stored.limit(1)) is None:  # a first sync: nothing to compare with
        await session.execute(insert(held).from_select(["user_id", "group_id"], wanted))
        return
    await session.execute(
        delete(held).where(scope, tuple_(held.user_id, held.group_id).in_(except_(stored, wanted))),
        execution_options=NO_SYNC,
    )
    await session.execute(insert(held).from_select(["user_id", "group_id"], except_(wanted, stored)))


async def users_listed_as(session: AsyncSession, source: str, members: Iterable[str]) -> set[int]:
    """The people of ``source`` that group member values (normalized DNs or ``memberuid=`` logins) name."""
    dns = sorted(m for m in members if not m.startswith(_LOGIN_MEMBER_PREFIX))
    logins = sorted(m[len(_LOGIN_MEMBER_PREFIX) :] for m in members if m.startswith(_LOGIN_MEMBER_PREFIX))
    found: set[int] = set()
    entry = DirectoryEntryRow
    for column, values in ((entry.dn, dns), (entry.login_key, logins)):
        for i in range(0, len(values), _BATCH):
            rows = await session.scalars(
                select(entry.user_id).where(entry.source == source, column.in_(values[i : i + _BATCH]))
            )
            found.update(rows)
    return found


async def rebuild_closure(session: AsyncSession, source: str) -> bool:
    """Every group's ancestors, computed in memory from the group-to-group edges; only changes are written.

    Returns whether anything changed (then every person's groups may have).
    """
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
    wanted = {(g, a) for g, ancestors in group_ancestors(parents).items() for a in ancestors}
    closure = DirectoryGroupClosureRow
    source_groups = select(DirectoryGroupRow.id).where(DirectoryGroupRow.source == source)
    rows = await session.execute(
        select(closure.group_id, closure.ancestor_id).where(closure.group_id.in_(source_groups))
    )
    stored = {(g, a) for g, a in rows}
    gone = sorted(stored - wanted)
    for i in range(0, len(gone), _BATCH):
        await session.execute(
            delete(closure).where(tuple_(closure.group_id, closure.ancestor_id).in_(gone[i : i + _BATCH])),
            execution_options=NO_SYNC,
        )
    new = [{"group_id": g, "ancestor_id": a} for g, a in sorted(wanted - stored)]
    for i in range(0, len(new), _BATCH):
        await session.execute(insert(closure), new[i : i + _BATCH])
    return bool(gone or new)


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
