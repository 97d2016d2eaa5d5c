"""Directory sync persistence: people and groups of each source, in batches, and the sync checkpoint.

Writes are per batch (one transaction each). Whatever depends on a complete pass — disabling people who are
gone, removing groups, resolving nested groups, roles and access levels — happens in :meth:`finish_full_sync`,
in one transaction, so an interrupted or failed sync never leaves a half-applied result.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.domain.directory import DirectoryGroup, DirectoryPerson, join_keys, search_key
from veche.storage import directory_bulk as bulk
from veche.storage.address_scopes import refresh_scopes
from veche.storage.directory_groups import (
    GroupRules,
    derive_access_and_roles,
    rebuild_closure,
    resolve_memberships,
    users_listed_as,
)
from veche.storage.directory_indexes import DeferredIndexes
from veche.storage.directory_seen import PassChanges, SeenPeople
from veche.storage.directory_tables import (
    NO_SYNC,
    DirectoryEntryRow,
    DirectoryGroupMemberRow,
    DirectoryGroupRow,
    DirectorySyncStateRow,
    DirectoryUserGroupRow,
)
from veche.storage.tables import Base, UserRow

__all__ = ["DirectoryStore", "FullSyncState", "UpsertCounts"]

logger = logging.getLogger(__name__)

_IN_CHUNK = 500  # ids per IN (...) list
# Core inserts of plain rows (no ORM bookkeeping per row: a first sync inserts millions).
_ENTRIES = Base.metadata.tables["directory_entries"]
_USERS = Base.metadata.tables["users"]
_GROUPS = Base.metadata.tables["directory_groups"]
_MEMBERS = Base.metadata.tables["directory_group_members"]


@dataclass
class UpsertCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: list[str] = field(default_factory=list)  # logins already taken by someone else

    def __iadd__(self, other: UpsertCounts) -> UpsertCounts:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.conflicts.extend(other.conflicts[: max(0, 100 - len(self.conflicts))])
        return self


@dataclass(frozen=True)
class FullSyncState:
    source: str
    generation: int
    phase: str  # idle | users | groups
    users_done: int
    last_full_count: int
    cookie: bytes | None
    resumed: bool = False
    seen_people: bytes | None = None  # SeenPeople of an interrupted pass whose people phase was complete


def _entry_fields(p: DirectoryPerson, access: int | None = None) -> dict[str, Any]:
    name, login, email = search_key(p.display_name), search_key(p.login), search_key(p.email)
    department = search_key(p.department)
    fields: dict[str, Any] = {
        "dn": p.dn,
        "phone": p.phone[:64],
        "department": p.department[:256],
        "title": p.title[:256],
        "name_key": name[:256],
        "login_key": login[:128],
        "email_key": email[:320],
        "department_key": department[:256],
        "search_text": join_keys(login, name, email, p.phone, department),
        "fingerprint": p.fingerprint(),
    }
    if access is not None:
        fields["access"] = access
    return fields


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class DirectoryStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self.indexes = DeferredIndexes(sessions)

    # -- checkpoint ----------------------------------------------------------------------------------------------

    async def state(self, source: str) -> FullSyncState | None:
        async with self._sessions() as session:
            row = await session.get(DirectorySyncStateRow, source)
            return _state(row) if row else None

    async def begin_full_sync(self, source: str, now: datetime) -> FullSyncState:
        """Start a new generation, or resume the interrupted one (its phase and progress are kept)."""
        async with self._sessions.begin() as session:
            row = await session.get(DirectorySyncStateRow, source)
            if row is None:
                row = DirectorySyncStateRow(
                    source=source, generation=0, phase="idle", users_done=0, last_full_count=0, cookie=None
                )
                session.add(row)
            if row.phase == "groups" and row.seen_people is None:
                row.phase = "users"  # a pass of a version that kept its seen people elsewhere: read them again
            if row.phase != "idle":
                return _state(row, resumed=True)
            row.generation += 1
            row.phase = "users"
            row.users_done = 0
            row.seen_people = None
            row.started_at = now
            row.last_error = None
            await session.flush()
            return _state(row)

    async def sync_row(self, source: str) -> tuple[str | None, datetime | None] | None:
        """(last error, end of the last complete pass) of a source."""
        async with self._sessions() as session:
            row = await session.get(DirectorySyncStateRow, source)
            return (row.last_error, row.finished_at) if row else None

    async def checkpoint(self, source: str, *, phase: str, users_done: int, seen: SeenPeople | None = None) -> None:
        """Progress of a running pass; with ``seen``, the people it has seen so far (one small blob)."""
        values: dict[str, Any] = {"phase": phase, "users_done": users_done}
        if seen is not None:
            values["seen_people"] = seen.to_bytes()
        async with self._sessions.begin() as session:
            await session.execute(
                update(DirectorySyncStateRow).where(DirectorySyncStateRow.source == source).values(**values),
                execution_options=NO_SYNC,
            )

    async def record_error(self, source: str, message: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(DirectorySyncStateRow).where(DirectorySyncStateRow.source == source).values(last_error=message),
                execution_options=NO_SYNC,
            )

    async def save_cookie(self, source: str, cookie: bytes | None) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(DirectorySyncStateRow, source)
            if row is None:
                session.add(
                    DirectorySyncStateRow(
                        source=source, generation=0, phase="idle", users_done=0, last_full_count=0, cookie=cookie
                    )
                )
            else:
                row.cookie = cookie

    # -- people ------------------------------------------------------------------------------------------------

    async def upsert_people(
        self,
        people: Sequence[DirectoryPerson],
        *,
        default_access: int,
        now: datetime,
        seen: SeenPeople | None = None,
    ) -> tuple[UpsertCounts, list[int]]:
        """Insert new people, rewrite changed ones (unchanged ones cost a fingerprint compare), add all to ``seen``.

        Returns the counts and the user ids of people added or changed (their groups may need refreshing).
        """
        counts = UpsertCounts()
        touched: list[int] = []
        if not people:
            return counts, touched
        by_source: dict[str, list[DirectoryPerson]] = {}
        for p in people:
            by_source.setdefault(p.source, []).append(p)
        async with self._sessions.begin() as session:
            for source, batch in by_source.items():
                c, t = await self._upsert_source_batch(session, source, batch, seen, default_access, now)
                counts += c
                touched += t
        return counts, touched

    async def _upsert_source_batch(
        self,
        session: AsyncSession,
        source: str,
        batch: list[DirectoryPerson],
        seen_people: SeenPeople | None,
        default_access: int,
        now: datetime,
    ) -> tuple[UpsertCounts, list[int]]:
        counts = UpsertCounts()
        unique = {p.external_id: p for p in batch}  # the last one wins if a page repeats an entry
        rows: Sequence[Any]
        if bulk.is_postgres(session):
            rows = await bulk.existing_entries(session, source, list(unique))
        else:
            rows = (
                await session.execute(
                    select(
                        DirectoryEntryRow.external_id, DirectoryEntryRow.user_id, DirectoryEntryRow.fingerprint
                    ).where(DirectoryEntryRow.source == source, DirectoryEntryRow.external_id.in_(list(unique)))
                )
            ).all()
        existing = {r.external_id: (r.user_id, r.fingerprint) for r in rows}
        seen: list[int] = []
        changed: list[tuple[int, DirectoryPerson]] = []
        new: list[DirectoryPerson] = []
        for ext, person in unique.items():
            if ext not in existing:
                new.append(person)
            elif existing[ext][1] == person.fingerprint():
                seen.append(existing[ext][0])
            else:
                changed.append((existing[ext][0], person))
        counts.unchanged = len(seen)
        touched = await self._update_changed(session, changed, now, counts)
        added = await self._insert_new(session, new, default_access, now, counts)
        if seen_people is not None:
            seen_people.add(seen)
            seen_people.add(touched)
            seen_people.add(added)
        return counts, touched + added

    async def _update_changed(
        self,
        session: AsyncSession,
        changed: list[tuple[int, DirectoryPerson]],
        now: datetime,
        counts: UpsertCounts,
    ) -> list[int]:
        if not changed:
            return []
        old_logins: dict[int, str] = {}
        for chunk in _chunks([uid for uid, _ in changed]):
            rows = await session.execute(select(UserRow.id, UserRow.login).where(UserRow.id.in_(chunk)))
            old_logins.update({r.id: r.login for r in rows})
        renamed = {p.login: uid for uid, p in changed if p.login != old_logins.get(uid)}
        taken: set[str] = set()
        if renamed:
            owners = await session.execute(select(UserRow.login, UserRow.id).where(UserRow.login.in_(list(renamed))))
            taken = {r.login for r in owners if renamed.get(r.login) != r.id}
        user_rows, entry_rows = [], []
        for uid, p in changed:
            login = p.login
            if login in taken:
                counts.conflicts.append(login)
                login = old_logins[uid]
            user_rows.append(
                {
                    "id": uid,
                    "login": login,
                    "display_name": p.display_name[:256],
                    "email": p.email[:320],
                    "disabled": p.disabled,
                }
            )
            entry_rows.append({"user_id": uid, **_entry_fields(p), "updated_at": now})
        await session.execute(update(UserRow), user_rows)
        await session.execute(update(DirectoryEntryRow), entry_rows)
        counts.updated += len(changed)
        return [uid for uid, _ in changed]

    async def _insert_new(
        self,
        session: AsyncSession,
        new: list[DirectoryPerson],
        default_access: int,
        now: datetime,
        counts: UpsertCounts,
    ) -> list[int]:
        if not new:
            return []
        by_login = {p.login: p for p in new}
        users = [
            {
                "login": p.login,
                "display_name": p.display_name[:256],
                "email": p.email[:320],
                "password_hash": None,
                "is_admin": False,
                "disabled": p.disabled,
                "created_at": now,
            }
            for p in by_login.values()
        ]
        postgres = bulk.is_postgres(session)
        if postgres:
            ids = await bulk.insert_users(session, users, now)
        else:
            stmt = (
                sqlite.insert(_USERS)
                .on_conflict_do_nothing(index_elements=["login"])
                .returning(_USERS.c.id, _USERS.c.login)
            )
            ids = {r.login: r.id for r in await session.execute(stmt, users)}
        for login in by_login:
            if login not in ids:
                counts.conflicts.append(login)
                logger.warning("directory: login %r is already taken by another user; not synced", login)
        entries = [
            {
                "user_id": ids[login],
                "source": p.source,
                "external_id": p.external_id,
                **_entry_fields(p, default_access),
                "updated_at": now,
            }
            for login, p in by_login.items()
            if login in ids
        ]
        if entries and postgres:
            await bulk.insert_entries(session, entries, now)
        elif entries:
            await session.execute(insert(_ENTRIES), entries)
        counts.added += len(ids)
        return list(ids.values())

    async def disable_people(self, source: str, external_ids: Sequence[str]) -> int:
        """People deleted from the directory: disabled (their history stays), never deleted."""
        disabled = 0
        async with self._sessions.begin() as session:
            for chunk in _chunks(list(external_ids)):
                ids = select(DirectoryEntryRow.user_id).where(
                    DirectoryEntryRow.source == source, DirectoryEntryRow.external_id.in_(chunk)
                )
                result = await session.execute(
                    update(UserRow).where(UserRow.id.in_(ids), UserRow.disabled.is_(False)).values(disabled=True),
                    execution_options=NO_SYNC,
                )
                disabled += int(getattr(result, "rowcount", 0) or 0)
                # Forget the fingerprint: if the person comes back, he is rewritten (and enabled).
                await session.execute(
                    update(DirectoryEntryRow)
                    .where(DirectoryEntryRow.source == source, DirectoryEntryRow.external_id.in_(chunk))
                    .values(fingerprint=""),
                    execution_options=NO_SYNC,
                )
        return disabled

    async def tidy_after_full_sync(self) -> None:
        """After a full pass: merge the trigram index's pending list, and vacuum the tables the pass rewrote.

        GIN indexes take inserts into a pending list that every search scans linearly until a vacuum merges it;
        after a large sync that made searches slow for minutes. The vacuum sets what every first read of a freshly
        written row would otherwise set (its commit status), and marks the pages all-visible, so the first
        searches after a large sync are as fast as the later ones and a group's members are listed from the index
        alone. A few seconds at a million people; pages nothing changed in are skipped.
        """
        async with self._sessions() as session:
            if session.get_bind().dialect.name != "postgresql":
                return
            connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            await connection.execute(text("SELECT gin_clean_pending_list('ix_directory_entries_search_trgm')"))
            for table in ("directory_entries", "users", "directory_user_groups"):
                await connection.execute(text(f"VACUUM (ANALYZE) {table}"))  # not in a transaction

    async def refresh_statistics(self, *, people: bool = True) -> None:
        """Let PostgreSQL's planner know the tables grew (a first sync adds a million rows in minutes).

        ``people=False`` leaves out ``directory_entries`` (an ANALYZE would wait for its indexes being built).
        """
        async with self._sessions.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                tables = ["users", "directory_entries", "directory_groups", "directory_group_members"]
                for table in [*tables, "directory_user_groups"]:
                    if people or table != "directory_entries":
                        await session.execute(text(f"ANALYZE {table}"))

    async def person_ref(self, user_id: int) -> tuple[str, str] | None:
        """(source, DN) of a directory user; None for local users."""
        async with self._sessions() as session:
            row = await session.execute(
                select(DirectoryEntryRow.source, DirectoryEntryRow.dn).where(DirectoryEntryRow.user_id == user_id)
            )
            found = row.first()
            if found is None or found.source is None or found.dn is None:
                return None
            return found.source, found.dn

    async def external_id_of(self, user_id: int) -> str | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(DirectoryEntryRow.external_id).where(DirectoryEntryRow.user_id == user_id)
            )

    async def user_id_for(self, source: str, external_id: str) -> int | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(DirectoryEntryRow.user_id).where(
                    DirectoryEntryRow.source == source, DirectoryEntryRow.external_id == external_id
                )
            )

    # -- groups -------------------------------------------------------------------------------------------------

    async def upsert_groups(self, groups: Sequence[DirectoryGroup], *, changes: PassChanges | None = None) -> list[int]:
        """Insert new groups, rewrite changed ones (only the members that changed). Returns the group ids.

        A handful of statements per page, whatever its size (a directory may have tens of thousands of groups);
        a group whose fingerprint is unchanged costs nothing but the compare. Members added or removed are
        noted in ``changes``.
        """
        if not groups:
            return []
        by_source: dict[str, dict[str, DirectoryGroup]] = {}
        for g in groups:
            by_source.setdefault(g.source, {})[g.external_id] = g
        ids: list[int] = []
        async with self._sessions.begin() as session:
            for source, unique in by_source.items():
                ids += await self._upsert_group_page(session, source, unique, changes)
        return ids

    async def _upsert_group_page(
        self, session: AsyncSession, source: str, unique: dict[str, DirectoryGroup], changes: PassChanges | None
    ) -> list[int]:
        existing: dict[str, tuple[int, str]] = {}
        for chunk in _chunks(list(unique)):
            rows = await session.execute(
                select(DirectoryGroupRow.external_id, DirectoryGroupRow.id, DirectoryGroupRow.fingerprint).where(
                    DirectoryGroupRow.source == source, DirectoryGroupRow.external_id.in_(chunk)
                )
            )
            existing.update({r.external_id: (r.id, r.fingerprint) for r in rows})
        fingerprints = {ext: g.fingerprint() for ext, g in unique.items()}
        changed = {ext: existing[ext][0] for ext in unique if ext in existing and existing[ext][1] != fingerprints[ext]}
        if changed:
            await session.execute(
                update(DirectoryGroupRow),
                [
                    {"id": gid, "dn": unique[ext].dn, "name": unique[ext].name[:256], "fingerprint": fingerprints[ext]}
                    for ext, gid in changed.items()
                ],
            )
        new = [g for ext, g in unique.items() if ext not in existing]
        ids = {ext: gid for ext, (gid, _) in existing.items()}
        if new:
            result = await session.execute(
                insert(_GROUPS).returning(_GROUPS.c.id, _GROUPS.c.external_id),
                [
                    {
                        "source": source,
                        "external_id": g.external_id,
                        "dn": g.dn,
                        "name": g.name[:256],
                        "seen_generation": 0,
                        "fingerprint": fingerprints[g.external_id],
                    }
                    for g in new
                ],
            )
            ids.update({r.external_id: r.id for r in result})
        rewrite = [ids[ext] for ext in changed] + [ids[g.external_id] for g in new]
        wanted = {ids[ext]: set(unique[ext].members) for ext in [*changed, *(g.external_id for g in new)]}
        await self._replace_members(session, rewrite, wanted, changes)
        return [ids[ext] for ext in unique]

    @staticmethod
    async def _replace_members(
        session: AsyncSession, group_ids: list[int], wanted: dict[int, set[str]], changes: PassChanges | None
    ) -> None:
        """Make the stored direct members of ``group_ids`` the ``wanted`` ones, writing only the difference."""
        stored: dict[int, set[str]] = {gid: set() for gid in group_ids}
        for chunk in _chunks(group_ids):
            rows = await session.execute(
                select(DirectoryGroupMemberRow.group_id, DirectoryGroupMemberRow.member_dn).where(
                    DirectoryGroupMemberRow.group_id.in_(chunk)
                )
            )
            for gid, dn in rows:
                stored[gid].add(dn)
        removed = [(gid, dn) for gid in group_ids for dn in sorted(stored[gid] - wanted[gid])]
        added = [(gid, dn) for gid in group_ids for dn in sorted(wanted[gid] - stored[gid])]
        if changes is not None:
            changes.members_changed(dn for _, dn in removed)
            changes.members_changed(dn for _, dn in added)
        for gid in {gid for gid, _ in removed}:
            gone = [dn for g, dn in removed if g == gid]
            for dns in _chunks(gone):
                await session.execute(
                    delete(DirectoryGroupMemberRow).where(
                        DirectoryGroupMemberRow.group_id == gid, DirectoryGroupMemberRow.member_dn.in_(dns)
                    ),
                    execution_options=NO_SYNC,
                )
        for chunk in _chunks(added, 50_000):
            if bulk.is_postgres(session):
                await bulk.insert_members(session, [p[0] for p in chunk], [p[1] for p in chunk])
            else:
                await session.execute(insert(_MEMBERS), [{"group_id": g, "member_dn": dn} for g, dn in chunk])

    async def delete_groups(self, source: str, external_ids: Sequence[str]) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(DirectoryGroupRow).where(
                    DirectoryGroupRow.source == source, DirectoryGroupRow.external_id.in_(list(external_ids))
                ),
                execution_options=NO_SYNC,
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def resolve_changes(self, source: str, rules: GroupRules, changes: PassChanges) -> None:
        """After group changes followed incrementally: as at the end of a pass, only the people they name."""
        async with self._sessions.begin() as session:
            await _resolve_changes(session, source, rules, changes)

    async def resolve(self, source: str, rules: GroupRules, *, user_ids: Sequence[int] | None = None) -> None:
        """Recompute nested groups, roles and access levels (all people of the source, or only ``user_ids``)."""
        async with self._sessions.begin() as session:
            if user_ids is None:
                await resolve_memberships(session, source)
            else:
                await resolve_memberships(session, source, user_ids=user_ids)
            await derive_access_and_roles(session, source, rules, user_ids=user_ids)
            await refresh_scopes(session, source, user_ids=user_ids)

    # -- the end of a full pass --------------------------------------------------------------------------------

    async def finish_full_sync(
        self,
        source: str,
        rules: GroupRules,
        now: datetime,
        *,
        seen_people: SeenPeople,
        seen_groups: set[int],
        changes: PassChanges | None = None,
    ) -> tuple[int, int]:
        """After a complete pass: disable people and remove groups not seen, resolve groups, roles, access.

        One transaction; rows already right are not written. People's groups are recomputed for those the pass's
        ``changes`` may have affected, or for everyone (no ``changes``, or nested groups changed).
        Returns (people disabled, groups removed).
        """
        async with self._sessions.begin() as session:
            people = await session.stream(
                select(DirectoryEntryRow.user_id)
                .where(DirectoryEntryRow.source == source)
                .execution_options(yield_per=10_000)
            )
            unseen = [uid async for part in people.partitions() for (uid,) in part if uid not in seen_people]
            disabled = 0
            for chunk in _chunks(unseen):
                result = await session.execute(
                    update(UserRow).where(UserRow.id.in_(chunk), UserRow.disabled.is_(False)).values(disabled=True),
                    execution_options=NO_SYNC,
                )
                disabled += int(getattr(result, "rowcount", 0) or 0)
                # Forget the fingerprint: if the person comes back, he is rewritten (and enabled).
                await session.execute(
                    update(DirectoryEntryRow)
                    .where(DirectoryEntryRow.user_id.in_(chunk), DirectoryEntryRow.fingerprint != "")
                    .values(fingerprint=""),
                    execution_options=NO_SYNC,
                )
            groups = await session.scalars(select(DirectoryGroupRow.id).where(DirectoryGroupRow.source == source))
            gone = [gid for gid in groups if gid not in seen_groups]
            for chunk in _chunks(gone):
                await session.execute(
                    delete(DirectoryGroupRow).where(DirectoryGroupRow.id.in_(chunk)), execution_options=NO_SYNC
                )
            if gone:
                changes = None
            await _resolve_changes(session, source, rules, changes)
            count = await session.scalar(
                select(func.count()).select_from(DirectoryEntryRow).where(DirectoryEntryRow.source == source)
            )
            await session.execute(
                update(DirectorySyncStateRow)
                .where(DirectorySyncStateRow.source == source)
                .values(
                    phase="idle", finished_at=now, last_full_count=int(count or 0), last_error=None, seen_people=None
                ),
                execution_options=NO_SYNC,
            )
            return disabled, len(gone)

    async def groups_of(self, user_id: int) -> list[str]:
        """Names of a person's groups (nested groups resolved), sorted."""
        async with self._sessions() as session:
            names = await session.scalars(
                select(DirectoryGroupRow.name)
                .join(DirectoryUserGroupRow, DirectoryUserGroupRow.group_id == DirectoryGroupRow.id)
                .where(DirectoryUserGroupRow.user_id == user_id)
                .order_by(DirectoryGroupRow.name)
            )
            return list(names)

    async def counts(self, source: str) -> dict[str, int]:
        async with self._sessions() as session:
            people = await session.scalar(
                select(func.count()).select_from(DirectoryEntryRow).where(DirectoryEntryRow.source == source)
            )
            disabled = await session.scalar(
                select(func.count())
                .select_from(DirectoryEntryRow)
                .join(UserRow, UserRow.id == DirectoryEntryRow.user_id)
                .where(DirectoryEntryRow.source == source, UserRow.disabled.is_(True))
            )
            groups = await session.scalar(
                select(func.count()).select_from(DirectoryGroupRow).where(DirectoryGroupRow.source == source)
            )
            return {"people": int(people or 0), "disabled": int(disabled or 0), "groups": int(groups or 0)}


async def _resolve_changes(session: AsyncSession, source: str, rules: GroupRules, changes: PassChanges | None) -> None:
    """Nested groups, people's groups, roles, access levels and search scopes after ``changes`` (None: anything)."""
    if await rebuild_closure(session, source) or changes is None or changes.everything:
        await resolve_memberships(session, source, closure=False)
    else:
        affected = changes.people | await users_listed_as(session, source, changes.members)
        if affected:
            await resolve_memberships(session, source, user_ids=sorted(affected))
    await derive_access_and_roles(session, source, rules)
    await refresh_scopes(session, source)


def _state(row: DirectorySyncStateRow, resumed: bool = False) -> FullSyncState:
    return FullSyncState(
        source=row.source,
        generation=row.generation,
        phase=row.phase,
        users_done=row.users_done,
        last_full_count=row.last_full_count,
        cookie=row.cookie,
        resumed=resumed,
        seen_people=row.seen_people,
    )
