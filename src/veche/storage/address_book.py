"""Address book queries: who matches a search, limited to what the viewer may see.

Prefix matches come from b-tree ranges over byte-ordered keys (name, login, email); substring matches from
``search_text LIKE '%...%'``, which PostgreSQL answers from a pg_trgm GIN index (SQLite scans). Both are bounded
by ``LIMIT`` before ranking, so a query matching half a million people costs the same as one matching ten.

On PostgreSQL a restricted viewer is answered per part of what he may see, each part from indexes that hold only
its people: his department from (department, key) indexes, each large group of his from the precomputed scope
rows (:mod:`veche.storage.address_scopes`), himself and his small groups by probing their members. The parts'
best ``limit`` are merged. The rule itself (:func:`_visible`) is the reference the tests compare against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Text,
    and_,
    any_,
    bindparam,
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
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from veche.domain.directory import Visibility, search_key, search_text
from veche.storage.directory_tables import (
    DirectoryEntryRow,
    DirectoryGroupRow,
    DirectoryScopeMemberRow,
    DirectoryUserGroupRow,
)
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


# Statements are built once per shape with these bind parameters, and reused: building one from scratch cost more
# than running it (8 ms of Python for a department viewer's two statements).
KEY, UPPER = bindparam("key", type_=String), bindparam("upper", type_=String)
PATTERN = bindparam("pattern", type_=Text)
VIEWER, DEPARTMENT = bindparam("viewer", type_=Integer), bindparam("department", type_=String)
GROUPS = bindparam("groups", type_=Integer, expanding=True)


def _params(key: str) -> dict[str, Any]:
    return {"key": key, "upper": _next_prefix(key), "pattern": f"%{_escape_like(key)}%"}


def _next_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix`` (byte/code point order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class AddressBookStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, local_access: int = 4) -> None:
        self._sessions = sessions
        self._local_access = local_access
        self._statements: dict[tuple[Any, ...], Any] = {}

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
        fewer than ``limit`` people, the trigram substring match. On PostgreSQL a restricted viewer is answered per
        part of what he may see (:meth:`_restricted`). On SQLite a viewer who may see few people (up to
        ``VISIBLE_FIRST_MAX``) is answered from those people, anyone else with his visibility as a filter.
        """
        if not key:
            return []
        async with self._sessions() as session:
            postgres = session.get_bind().dialect.name == "postgresql"
            if postgres:
                # With LIMIT, the planner bets on a sequential scan finding matches early; for a rare substring it
                # then reads the whole table (200 ms at 300k people). The indexes are never that slow.
                await session.execute(text("SET LOCAL enable_seqscan = off"))
            if visibility.everyone:
                return await self._indexed(session, key, None, limit, postgres)
            if postgres:
                return await self._restricted(session, key, visibility, limit)
            if await self._visible_count(session, visibility) <= VISIBLE_FIRST_MAX:
                query = self._statement(
                    (
                        "visible",
                        len(key) >= 3,
                        limit,
                        postgres,
                        visibility.department is not None,
                        bool(visibility.group_ids),
                    ),
                    lambda: self._visible_first(
                        len(key) >= 3,
                        limit,
                        postgres,
                        department=visibility.department is not None,
                        groups=bool(visibility.group_ids),
                    ),
                )
                return _ranked(await session.execute(query, {**_params(key), **_visibility_params(visibility)}), limit)
            return await self._indexed(session, key, _visible(visibility), limit, postgres)

    def _statement(self, shape: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        """The statement of this shape, built once."""
        statement = self._statements.get(shape)
        if statement is None:
            statement = self._statements[shape] = build()
        return statement

    async def _restricted(
        self, session: AsyncSession, key: str, visibility: Visibility, limit: int
    ) -> list[AddressBookEntry]:
        """PostgreSQL, a viewer who may not see everyone: the best ``limit`` of each part he may see, merged.

        - his department: the (department, key) indexes and the (department, trigram) GIN index, exactly as
          everyone's search with ``department_key = ...`` in every index condition;
        - each of his groups kept as a scope: index ranges over (group, key), then the group's rows for substrings;
        - himself and his other (small) groups: their members probed one by one, ranked in SQL.
        """
        scoped: list[int] = []
        if visibility.group_ids:
            scope = DirectoryScopeMemberRow
            scoped = sorted(
                await session.scalars(
                    select(DirectoryGroupRow.id).where(
                        DirectoryGroupRow.id.in_(sorted(visibility.group_ids)),
                        exists().where(scope.scope_id == DirectoryGroupRow.id),
                    )
                )
            )
        small = visibility.group_ids - frozenset(scoped)
        substring = len(key) >= 3
        department = visibility.department is not None
        params = {**_params(key), "viewer": visibility.viewer_id, "groups": sorted(small)}
        if department:
            params["department"] = visibility.department
        params.update({f"group_{i}": g for i, g in enumerate(scoped)})
        # Parts: himself and his small groups (ranked and complete already), his department, each scope group.
        kinds = ["visible"] + (["department"] if department else []) + ["scope"] * len(scoped)
        shape = ("prefixes", substring, limit, bool(small), *kinds)

        def prefixes() -> Any:
            queries = [self._visible_first(substring, limit, True, department=False, groups=bool(small))]
            if department:
                queries.append(self._prefix_query(DirectoryEntryRow.department_key == DEPARTMENT, limit, True))
            queries += [
                self._scope_prefix_query(bindparam(f"group_{i}", type_=Integer), limit) for i in range(len(scoped))
            ]
            return _each_part(queries)

        # Two round trips whatever the number of parts: every part's prefix ranges in one statement, then the
        # substring matches of the parts whose prefixes found fewer than ``limit`` people.
        rows: list[Any] = list(await session.execute(self._statement(shape, prefixes), params))
        found: list[set[int]] = [set() for _ in kinds]
        for row in rows:
            found[row[-1]].add(row[0])
        more = [i for i, kind in enumerate(kinds) if kind != "visible" and substring and len(found[i]) < limit]
        if more:

            def substrings() -> Any:
                queries = []
                for i in more:
                    exclude: Any = bindparam(f"exclude_{i}", type_=Integer, expanding=True)
                    if kinds[i] == "department":
                        condition = DirectoryEntryRow.department_key == DEPARTMENT
                        queries.append(self._substring_query(condition, limit, exclude, f"substring_match_{i}"))
                    else:
                        group: Any = bindparam(f"group_{i - len(kinds) + len(scoped)}", type_=Integer)
                        queries.append(self._scope_substring_query(group, limit, exclude))
                return _each_part(queries)

            for i in more:
                params[f"exclude_{i}"] = sorted(found[i])
            statement = self._statement(("substrings", limit, *(kinds[i] for i in more), *more), substrings)
            rows += [(*row[:-1], more[row[-1]]) for row in await session.execute(statement, params)]
        return _ranked([row[:-1] for row in rows], limit)

    async def _indexed(
        self,
        session: AsyncSession,
        key: str,
        condition: ColumnElement[bool] | None,
        limit: int,
        postgres: bool,
    ) -> list[AddressBookEntry]:
        """Prefix ranges first; the trigram match only if they found fewer than ``limit`` people.

        ``condition`` None (everyone) uses statements built once; a visibility filter (SQLite) builds its own."""
        params = _params(key)
        if condition is None:
            prefixes = self._statement(("everyone", limit, postgres), lambda: self._prefix_query(None, limit, postgres))
        else:
            prefixes = self._prefix_query(condition, limit, postgres)
        found = _ranked(await session.execute(prefixes, params), limit)
        if len(found) < limit and len(key) >= 3:
            exclude: Any = bindparam("exclude", type_=Integer, expanding=True)
            if condition is None:
                query = self._statement(
                    ("everyone-substring", limit, postgres),
                    lambda: self._substring_query(None, limit, exclude, materialize=postgres),
                )
            else:
                query = self._substring_query(condition, limit, exclude, materialize=postgres)
            found += _ranked(await session.execute(query, {**params, "exclude": [e.user_id for e in found]}), limit)
        return found[:limit]

    def _prefix_query(self, condition: ColumnElement[bool] | None, limit: int, postgres: bool) -> Any:
        """Each prefix column's range (``KEY`` to ``UPPER``), ``limit`` rows each, in one statement."""
        branches: list[Any] = []
        for rank, column in enumerate(_prefix_columns(postgres)):
            base = self._base(None)
            branch = (
                (base if condition is None else base.where(condition))
                .add_columns(literal(rank).label("rank"), column.label("sort_key"))
                .where(column >= KEY, column < UPPER)
                .order_by(column)
                .limit(limit)
            )
            branches.append(select(branch.subquery()))
        return union_all(*branches)

    def _substring_query(
        self,
        condition: ColumnElement[bool] | None,
        limit: int,
        exclude: Any,
        name: str = "substring_match",
        *,
        materialize: bool = True,
    ) -> Any:
        """The trigram match (``PATTERN``), as a CTE that PostgreSQL is told to materialize: planned without the
        LIMIT.

        Otherwise the planner, misjudging how many rows a substring of digits matches, walks the primary key
        filtering every row (400 ms at a million people). Rows are still pulled from it lazily, until LIMIT.
        ``condition`` (a department) is inside the CTE, where the GIN index over (department_key, trigrams)
        answers both at once. ``exclude``: an expanding bind parameter, the people found by prefix already.
        """
        entry = DirectoryEntryRow
        matched = select(entry).where(entry.search_text.like(PATTERN, escape="\\"), entry.user_id.not_in(exclude))
        if condition is not None:
            matched = matched.where(condition)
        cte = matched.cte(name)
        m = aliased(entry, cte.prefix_with("MATERIALIZED") if materialize else cte)
        return (
            select(*_entry_columns(m), literal(SUBSTRING_RANK).label("rank"), m.name_key.label("sort_key"))
            .select_from(m)
            .join(UserRow, UserRow.id == m.user_id)
            .where(UserRow.disabled.is_(False))
            .limit(limit)
        )

    def _scope_prefix_query(self, group: Any, limit: int) -> Any:
        """Prefix ranges over one scope group's rows, (group, key) indexes: each branch at most ``limit`` rows."""
        scope = DirectoryScopeMemberRow
        columns = (scope.name_key, scope.word2_key, scope.word3_key, scope.login_key, scope.email_key)
        branches: list[Any] = []
        for rank, column in enumerate(columns):
            branch = (
                select(*_entry_columns(DirectoryEntryRow), literal(rank).label("rank"), column.label("sort_key"))
                .select_from(scope)
                .join(DirectoryEntryRow, DirectoryEntryRow.user_id == scope.user_id)
                .join(UserRow, UserRow.id == scope.user_id)
                .where(scope.scope_id == group, column >= KEY, column < UPPER, UserRow.disabled.is_(False))
                .order_by(column)
                .limit(limit)
            )
            branches.append(select(branch.subquery()))
        return union_all(*branches)

    def _scope_substring_query(self, group: Any, limit: int, exclude: Any) -> Any:
        """Substring matches among one scope group's rows (the (group, trigrams) GIN index)."""
        scope = DirectoryScopeMemberRow
        return (
            select(
                *_entry_columns(DirectoryEntryRow),
                literal(SUBSTRING_RANK).label("rank"),
                scope.name_key.label("sort_key"),
            )
            .select_from(scope)
            .join(DirectoryEntryRow, DirectoryEntryRow.user_id == scope.user_id)
            .join(UserRow, UserRow.id == scope.user_id)
            .where(
                scope.scope_id == group,
                scope.search_text.like(PATTERN, escape="\\"),
                scope.user_id.not_in(exclude),
                UserRow.disabled.is_(False),
            )
            .limit(limit)
        )

    def _visible_first(self, substring: bool, limit: int, postgres: bool, *, department: bool, groups: bool) -> Any:
        """One pass over the people the viewer may see (``VIEWER``, the people of ``DEPARTMENT`` and of
        ``GROUPS`` when asked for), ranked in SQL.

        From three characters on (``substring``), the substring match alone decides who matches (every prefix is
        also a substring of ``search_text``); the ranks are computed only for those. On PostgreSQL the visible ids
        are an array, which the primary key index probes in order: about 2 µs per visible person.
        """
        columns = _prefix_columns(postgres)
        prefixes = [and_(column >= KEY, column < UPPER) for column in columns]
        if substring:
            match: ColumnElement[bool] = DirectoryEntryRow.search_text.like(PATTERN, escape="\\")
        else:
            match = or_(*prefixes)
        rank = case(*[(p, i) for i, p in enumerate(prefixes)], else_=SUBSTRING_RANK)
        sort_key = case(*[(p, c) for p, c in zip(prefixes, columns, strict=True)], else_=DirectoryEntryRow.name_key)
        parts: list[Any] = [select(VIEWER.label("user_id"))]
        if department:
            parts.append(select(DirectoryEntryRow.user_id).where(DirectoryEntryRow.department_key == DEPARTMENT))
        if groups:
            parts.append(select(DirectoryUserGroupRow.user_id).where(DirectoryUserGroupRow.group_id.in_(GROUPS)))
        visible: Any = union(*parts) if len(parts) > 1 else parts[0]
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

    def _base(self, visibility: Visibility | None) -> _EntryQuery:
        query: _EntryQuery = (
            select(*_entry_columns(DirectoryEntryRow))
            .join(UserRow, UserRow.id == DirectoryEntryRow.user_id)
            .where(UserRow.disabled.is_(False))
        )
        condition = None if visibility is None else _visible(visibility)
        return query if condition is None else query.where(condition)

    @staticmethod
    async def _rows(session: AsyncSession, query: _EntryQuery) -> list[AddressBookEntry]:
        return [AddressBookEntry(*row) for row in await session.execute(query)]


def _each_part(queries: Sequence[Any]) -> Any:
    """One statement answering several queries of (entry..., rank, sort key), each row tagged with its query's
    position (a last column)."""
    return union_all(*[select(q.subquery(), literal(i).label("part")) for i, q in enumerate(queries)])


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


def _visibility_params(visibility: Visibility) -> dict[str, Any]:
    """Bind parameters of :meth:`AddressBookStore._visible_first` for ``visibility``."""
    params: dict[str, Any] = {"viewer": visibility.viewer_id, "groups": sorted(visibility.group_ids)}
    if visibility.department is not None:
        params["department"] = visibility.department
    return params


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
