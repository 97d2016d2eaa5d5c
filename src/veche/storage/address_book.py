"""Address book queries: who matches a search, limited to what the viewer may see.

Prefix matches come from b-tree ranges over byte-ordered keys (name, login, email); substring matches from
``search_text LIKE '%...%'``, which PostgreSQL answers from a pg_trgm GIN index (SQLite scans). Both are bounded
by ``LIMIT`` before ranking, so a query matching half a million people costs the same as one matching ten.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    any_,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union,
    union_all,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from veche.domain.directory import Visibility, search_key, search_text
from veche.storage.directory_tables import DirectoryEntryRow, DirectoryUserGroupRow
from veche.storage.tables import UserRow

__all__ = ["AddressBookEntry", "AddressBookStore", "ViewerProfile", "local_entry"]


@dataclass(frozen=True)
class AddressBookEntry:
    user_id: int
    login: str
    display_name: str
    email: str
    phone: str
    department: str
    title: str
    source: str | None


@dataclass(frozen=True)
class ViewerProfile:
    access: int
    department: str
    group_ids: frozenset[int]


_EntryQuery = Select[int, str, str, str, str, str, str, str | None]
SUBSTRING_RANK = 10  # after every prefix match

# A viewer who may see at most this many people is searched among them (17 ms for 10,000 at a million people,
# bench/directory.py); anyone else through the indexes, with his visibility as a filter.
VISIBLE_FIRST_MAX = 10_000
# How long the filtered index search may take before the search is done another way (it is fast or very slow).
FILTER_BUDGET_MS = 15


def _next_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix`` (byte/code point order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class AddressBookStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, local_access: int = 4) -> None:
        self._sessions = sessions
        self._local_access = local_access

    async def viewer(self, user_id: int) -> ViewerProfile:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(DirectoryEntryRow.access, DirectoryEntryRow.department, DirectoryEntryRow.source).where(
                        DirectoryEntryRow.user_id == user_id
                    )
                )
            ).first()
            groups = await session.scalars(
                select(DirectoryUserGroupRow.group_id).where(DirectoryUserGroupRow.user_id == user_id)
            )
            if row is None:
                return ViewerProfile(self._local_access, "", frozenset(groups))
            access = self._local_access if row.source is None else row.access
            return ViewerProfile(access, row.department, frozenset(groups))

    async def search(self, key: str, visibility: Visibility, *, limit: int) -> list[AddressBookEntry]:
        """People matching ``key`` (already a search key: case-folded), prefix matches first.

        Anyone who may see everyone is answered from the indexes: first the prefix ranges (name, later words of the
        name, login, email), each limited, in one statement; then, from three characters on and only if those found
        fewer than ``limit`` people, the trigram substring match. A viewer who may see few people (up to
        ``VISIBLE_FIRST_MAX``) is answered from those people. One who may see more is answered from the indexes with
        his visibility as a filter, and another way (:meth:`_sparse`) when that takes longer than
        ``FILTER_BUDGET_MS``.
        """
        if not key:
            return []
        async with self._sessions() as session:
            postgres = session.get_bind().dialect.name == "postgresql"
            if postgres:
                # With LIMIT, the planner bets on a sequential scan finding matches early; for a rare substring it
                # then reads the whole table (200 ms at 300k people). The indexes are never that slow.
                await session.execute(text("SET LOCAL enable_seqscan = off"))
            columns = _prefix_columns(postgres)
            if visibility.everyone:
                return await self._indexed(session, key, visibility, limit, columns, postgres)
            if await self._visible_count(session, visibility) <= VISIBLE_FIRST_MAX:
                return await self._among_visible(session, key, visibility, limit, columns, postgres)
            if not postgres:
                return await self._indexed(session, key, visibility, limit, columns, postgres)
            # Many visible people: the indexes with a visibility filter, fast while matches are dense. When the
            # people matching are mostly people he may not see (a common first name nobody in his department has),
            # the filter would read them all (400 ms for 80,000): give up after FILTER_BUDGET_MS, answer otherwise.
            try:
                async with session.begin_nested():
                    await session.execute(text(f"SET LOCAL statement_timeout = {FILTER_BUDGET_MS}"))
                    return await self._indexed(session, key, visibility, limit, columns, postgres)
            except DBAPIError as e:
                if "statement timeout" not in str(e.orig):
                    raise
            return await self._sparse(session, key, visibility, limit, columns)

    async def _sparse(
        self, session: AsyncSession, key: str, visibility: Visibility, limit: int, columns: Sequence[Any]
    ) -> list[AddressBookEntry]:
        """PostgreSQL, for a viewer who may see many people of whom few match: with groups, among the people he may
        see; with only his department, by bitmap scans (the department's index ANDed with each match's index)."""
        if visibility.group_ids:
            return await self._among_visible(session, key, visibility, limit, columns, True)
        await session.execute(text("SET LOCAL enable_indexscan = off"))
        return await self._indexed(session, key, visibility, limit, columns, True, bitmaps=True)

    async def _indexed(
        self,
        session: AsyncSession,
        key: str,
        visibility: Visibility,
        limit: int,
        columns: Sequence[Any],
        postgres: bool,
        *,
        bitmaps: bool = False,
    ) -> list[AddressBookEntry]:
        """Prefix ranges first; the trigram match only if they found fewer than ``limit`` people."""
        found = _ranked(await session.execute(self._prefix_query(key, visibility, limit, columns)), limit)
        if len(found) < limit and len(key) >= 3:
            exclude = [e.user_id for e in found]
            query = self._substring_query(key, visibility, limit, exclude, postgres, bitmaps)
            found += _ranked(await session.execute(query), limit)
        return found[:limit]

    async def _among_visible(
        self,
        session: AsyncSession,
        key: str,
        visibility: Visibility,
        limit: int,
        columns: Sequence[Any],
        postgres: bool,
    ) -> list[AddressBookEntry]:
        return _ranked(await session.execute(self._visible_first(key, visibility, limit, columns, postgres)), limit)

    def _prefix_query(self, key: str, visibility: Visibility, limit: int, columns: Sequence[Any]) -> Any:
        upper = _next_prefix(key)
        branches: list[Any] = []
        for rank, column in enumerate(columns):
            branch = (
                self._base(visibility)
                .add_columns(literal(rank).label("rank"), column.label("sort_key"))
                .where(column >= key, column < upper)
                .order_by(column)
                .limit(limit)
            )
            branches.append(select(branch.subquery()))
        return union_all(*branches)

    def _substring_query(
        self, key: str, visibility: Visibility, limit: int, exclude: list[int], materialize: bool, bitmaps: bool
    ) -> Any:
        """The trigram match, as a CTE that PostgreSQL is told to materialize: planned without the LIMIT.

        Otherwise the planner, misjudging how many rows a substring of digits matches, walks the primary key
        filtering every row (400 ms at a million people). Rows are still pulled from it lazily, until LIMIT.
        """
        entry = DirectoryEntryRow
        matched = select(entry).where(entry.search_text.like(f"%{_escape_like(key)}%", escape="\\"))
        if exclude:
            matched = matched.where(entry.user_id.not_in(exclude))
        inside = _visible(visibility) if bitmaps else None
        if inside is not None:  # in the CTE, where the department's index can be ANDed with the trigram index
            matched = matched.where(inside)
        cte = matched.cte("substring_match")
        m = aliased(entry, cte.prefix_with("MATERIALIZED") if materialize else cte)
        query = (
            select(*_entry_columns(m), literal(SUBSTRING_RANK).label("rank"), m.name_key.label("sort_key"))
            .select_from(m)
            .join(UserRow, UserRow.id == m.user_id)
            .where(UserRow.disabled.is_(False))
            .limit(limit)
        )
        condition = None if bitmaps else _visible(visibility, m)  # else checked lazily, only until LIMIT
        return query if condition is None else query.where(condition)

    def _visible_first(
        self, key: str, visibility: Visibility, limit: int, columns: Sequence[Any], postgres: bool
    ) -> Any:
        """One pass over the people the viewer may see, ranked in SQL.

        From three characters on, the substring match alone decides who matches (every prefix is also a
        substring of ``search_text``); the ranks are computed only for those. On PostgreSQL the visible ids are
        an array, which the primary key index probes in order: about 2 µs per visible person.
        """
        upper = _next_prefix(key)
        prefixes = [and_(column >= key, column < upper) for column in columns]
        if len(key) >= 3:
            match: ColumnElement[bool] = DirectoryEntryRow.search_text.like(f"%{_escape_like(key)}%", escape="\\")
        else:
            match = or_(*prefixes)
        rank = case(*[(p, i) for i, p in enumerate(prefixes)], else_=SUBSTRING_RANK)
        sort_key = case(*[(p, c) for p, c in zip(prefixes, columns, strict=True)], else_=DirectoryEntryRow.name_key)
        visible = _visible_ids(visibility)
        if postgres:
            among = DirectoryEntryRow.user_id == any_(func.array(visible.scalar_subquery()))
        else:
            among = DirectoryEntryRow.user_id.in_(visible)
        return (
            select(*_entry_columns(DirectoryEntryRow), rank.label("rank"), sort_key.label("sort_key"))
            .join(UserRow, UserRow.id == DirectoryEntryRow.user_id)
            .where(among, match, UserRow.disabled.is_(False))
            .order_by(rank, sort_key)
            .limit(limit)
        )

    @staticmethod
    async def _visible_count(session: AsyncSession, visibility: Visibility) -> int:
        """How many people the viewer may see, counted only up to ``VISIBLE_FIRST_MAX + 1``."""
        parts = _visible_parts(visibility)
        if not parts:
            return 1
        capped = union_all(*parts).limit(VISIBLE_FIRST_MAX + 1).subquery()
        return int(await session.scalar(select(func.count()).select_from(capped)) or 0)

    async def get(self, user_id: int, visibility: Visibility) -> AddressBookEntry | None:
        async with self._sessions() as session:
            rows = await self._rows(session, self._base(visibility).where(DirectoryEntryRow.user_id == user_id))
            return rows[0] if rows else None

    def _base(self, visibility: Visibility) -> _EntryQuery:
        query: _EntryQuery = (
            select(*_entry_columns(DirectoryEntryRow))
            .join(UserRow, UserRow.id == DirectoryEntryRow.user_id)
            .where(UserRow.disabled.is_(False))
        )
        condition = _visible(visibility)
        return query if condition is None else query.where(condition)

    @staticmethod
    async def _rows(session: AsyncSession, query: _EntryQuery) -> list[AddressBookEntry]:
        return [AddressBookEntry(*row) for row in await session.execute(query)]


def _entry_columns(entry: Any) -> tuple[Any, ...]:
    """The columns of an :class:`AddressBookEntry`, ``entry`` being the entries table or an alias of it."""
    return (
        UserRow.id,
        UserRow.login,
        UserRow.display_name,
        UserRow.email,
        entry.phone,
        entry.department,
        entry.title,
        entry.source,
    )


def _name_word(n: int) -> ColumnElement[str]:
    """The n-th word of the name, spelled exactly as migration 0005's expression indexes are (literals, not bind
    parameters, or PostgreSQL would not match the index)."""
    return func.split_part(DirectoryEntryRow.name_key, literal_column("' '"), literal_column(str(n)))


def _prefix_columns(postgres: bool) -> list[Any]:
    """What a prefix is looked for in, in rank order. Later words of the name only on PostgreSQL (indexed there)."""
    words = [_name_word(2), _name_word(3)] if postgres else []
    return [DirectoryEntryRow.name_key, *words, DirectoryEntryRow.login_key, DirectoryEntryRow.email_key]


def _ranked(rows: Iterable[Any], limit: int) -> list[AddressBookEntry]:
    """Rows of (entry..., rank, sort key) in rank order, each person once (his best rank)."""
    found: dict[int, AddressBookEntry] = {}
    for row in sorted(rows, key=lambda r: (r[-2], r[-1])):
        found.setdefault(row[0], AddressBookEntry(*row[:-2]))
    return list(found.values())[:limit]


def _visible(visibility: Visibility, entry: Any = DirectoryEntryRow) -> ColumnElement[bool] | None:
    """The visibility rule as a condition on ``entry`` (the entries table or an alias of it)."""
    if visibility.everyone:
        return None
    allowed: list[ColumnElement[bool]] = [entry.user_id == visibility.viewer_id]
    if visibility.department:
        allowed.append(entry.department_key == visibility.department)
    if visibility.group_ids:
        allowed.append(
            exists().where(
                and_(
                    DirectoryUserGroupRow.user_id == entry.user_id,
                    DirectoryUserGroupRow.group_id.in_(sorted(visibility.group_ids)),
                )
            )
        )
    return or_(*allowed)


def _visible_parts(visibility: Visibility) -> list[Select[int]]:
    """Who the viewer may see besides himself: his department's people, his groups' people (may overlap)."""
    parts: list[Select[int]] = []
    if visibility.department:
        parts.append(select(DirectoryEntryRow.user_id).where(DirectoryEntryRow.department_key == visibility.department))
    if visibility.group_ids:
        parts.append(
            select(DirectoryUserGroupRow.user_id).where(
                DirectoryUserGroupRow.group_id.in_(sorted(visibility.group_ids))
            )
        )
    return parts


def _visible_ids(visibility: Visibility) -> Any:
    """The ids of everyone the viewer may see, himself included."""
    viewer = select(literal(visibility.viewer_id).label("user_id"))
    return union(viewer, *_visible_parts(visibility))


def local_entry(user_id: int, login: str, display_name: str, email: str, now: datetime) -> DirectoryEntryRow:
    """The address book entry of a local (non-directory) user."""
    return DirectoryEntryRow(
        user_id=user_id,
        source=None,
        external_id=None,
        dn=None,
        phone="",
        department="",
        title="",
        name_key=search_key(display_name)[:256],
        login_key=search_key(login)[:128],
        email_key=search_key(email)[:320],
        department_key="",
        search_text=search_text(login, display_name, email),
        access=4,
        fingerprint="",
        updated_at=now,
    )
