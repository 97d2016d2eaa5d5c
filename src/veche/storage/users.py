"""User and login-session persistence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.domain.directory import search_key, search_text
from veche.domain.errors import Conflict
from veche.domain.model import User
from veche.storage.address_book import local_entry
from veche.storage.directory_tables import DirectoryEntryRow
from veche.storage.tables import ConferenceMemberRow, ConferenceRow, SessionRow, UserRow

__all__ = ["SessionStore", "UserPage", "UserStore"]


def _like_escaped(text: str) -> str:
    """``text`` as a LIKE pattern's literal part (``%`` and ``_`` typed in a search box match themselves)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class UserPage:
    """One page of the users list and how many match the search in all."""

    users: list[User]
    total: int


@dataclass(frozen=True)
class UserRecord:
    """What the console needs besides :class:`User`: whether a directory keeps this account (name, password)."""

    user: User
    source: str | None  # the directory source, None for a local user
    has_password: bool


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        login=row.login,
        display_name=row.display_name,
        email=row.email,
        is_admin=row.is_admin,
        disabled=row.disabled,
    )


class UserStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create(
        self,
        *,
        login: str,
        display_name: str,
        email: str,
        password_hash: str | None,
        is_admin: bool,
        now: datetime,
    ) -> User:
        row = UserRow(
            login=login,
            display_name=display_name,
            email=email,
            password_hash=password_hash,
            is_admin=is_admin,
            disabled=False,
            created_at=now,
        )
        try:
            async with self._sessions.begin() as session:
                session.add(row)
                await session.flush()
                session.add(local_entry(row.id, login, display_name, email, now))  # his address book entry
                return _user(row)
        except IntegrityError as e:
            raise Conflict(f"A user with the login “{login}” already exists.") from e

    async def get(self, user_id: int) -> User | None:
        async with self._sessions() as session:
            row = await session.get(UserRow, user_id)
            return _user(row) if row else None

    async def get_many(self, user_ids: set[int]) -> list[User]:
        if not user_ids:
            return []
        async with self._sessions() as session:
            rows = await session.scalars(select(UserRow).where(UserRow.id.in_(user_ids)))
            return [_user(r) for r in rows]

    async def by_login(self, login: str) -> tuple[User, str | None] | None:
        """The user and his password hash, by login (case-insensitive)."""
        async with self._sessions() as session:
            row = await session.scalar(select(UserRow).where(func.lower(UserRow.login) == login.lower()))
            return (_user(row), row.password_hash) if row else None

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(UserRow, user_id)
            if row is not None:
                row.password_hash = password_hash

    async def list(self, *, limit: int = 100, offset: int = 0) -> list[User]:
        async with self._sessions() as session:
            rows = await session.scalars(select(UserRow).order_by(UserRow.login).limit(limit).offset(offset))
            return [_user(r) for r in rows]

    async def page(self, *, query: str = "", limit: int = 50, offset: int = 0) -> UserPage:
        """Users ordered by login, ``limit`` from ``offset``, those whose login, name or email contains ``query``
        (case-folded as the address book folds it). The database does the paging and the counting."""
        condition = None
        key = search_key(query)
        if key:
            pattern = f"%{_like_escaped(key)}%"
            condition = or_(
                DirectoryEntryRow.search_text.like(pattern, escape="\\"),
                func.lower(UserRow.login).like(pattern, escape="\\"),
            )
        listed = select(UserRow).outerjoin(DirectoryEntryRow, DirectoryEntryRow.user_id == UserRow.id)
        counted = (
            select(func.count())
            .select_from(UserRow)
            .outerjoin(DirectoryEntryRow, DirectoryEntryRow.user_id == UserRow.id)
        )
        if condition is not None:
            listed, counted = listed.where(condition), counted.where(condition)
        async with self._sessions() as session:
            rows = await session.scalars(listed.order_by(UserRow.login, UserRow.id).limit(limit).offset(offset))
            users = [_user(r) for r in rows]
            total = int(await session.scalar(counted) or 0)
        return UserPage(users=users, total=total)

    async def record(self, user_id: int) -> UserRecord | None:
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(UserRow, DirectoryEntryRow.source)
                    .outerjoin(DirectoryEntryRow, DirectoryEntryRow.user_id == UserRow.id)
                    .where(UserRow.id == user_id)
                )
            ).first()
        if found is None:
            return None
        row, source = found
        return UserRecord(user=_user(row), source=source, has_password=row.password_hash is not None)

    async def update(
        self,
        user_id: int,
        *,
        display_name: str | None = None,
        email: str | None = None,
        is_admin: bool | None = None,
        disabled: bool | None = None,
        now: datetime,
    ) -> User | None:
        """Change the given fields (None: unchanged), his address book entry with them; None if he is gone."""
        async with self._sessions.begin() as session:
            row = await session.get(UserRow, user_id)
            if row is None:
                return None
            if display_name is not None:
                row.display_name = display_name
            if email is not None:
                row.email = email
            if is_admin is not None:
                row.is_admin = is_admin
            if disabled is not None:
                row.disabled = disabled
            if display_name is not None or email is not None:
                entry = await session.get(DirectoryEntryRow, user_id)
                if entry is not None and entry.source is None:
                    entry.name_key = search_key(row.display_name)[:256]
                    entry.email_key = search_key(row.email)[:320]
                    entry.search_text = search_text(row.login, row.display_name, row.email)
                    entry.updated_at = now
            return _user(row)

    async def delete(self, user_id: int, *, heir_id: int) -> bool:
        """Delete the user (his sign-ins, memberships and address book entry go with him). His ad hoc call
        conferences go too; the conferences he owns pass to ``heir_id``. False if he did not exist."""
        async with self._sessions.begin() as session:
            row = await session.get(UserRow, user_id)
            if row is None:
                return False
            await session.execute(
                delete(ConferenceRow).where(
                    ConferenceRow.call_pair.is_not(None),
                    ConferenceRow.id.in_(
                        select(ConferenceMemberRow.conference_id).where(ConferenceMemberRow.user_id == user_id)
                    ),
                )
            )
            await session.execute(
                delete(ConferenceRow).where(ConferenceRow.call_pair.is_not(None), ConferenceRow.owner_id == user_id)
            )
            await session.execute(
                update(ConferenceRow).where(ConferenceRow.owner_id == user_id).values(owner_id=heir_id)
            )
            await session.delete(row)
            return True

    async def count(self) -> int:
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(UserRow)) or 0)


class SessionStore:
    """Login sessions keyed by the SHA-256 of their token."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create(self, *, token_hash: str, user_id: int, kind: str, now: datetime, expires_at: datetime) -> None:
        async with self._sessions.begin() as session:
            session.add(
                SessionRow(token_hash=token_hash, user_id=user_id, kind=kind, created_at=now, expires_at=expires_at)
            )

    async def user_for(self, token_hash: str, now: datetime) -> User | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(UserRow)
                .join(SessionRow, SessionRow.user_id == UserRow.id)
                .where(SessionRow.token_hash == token_hash, SessionRow.expires_at > now)
            )
            return _user(row) if row else None

    async def delete(self, token_hash: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(SessionRow).where(SessionRow.token_hash == token_hash))

    async def delete_for_user(self, user_id: int) -> int:
        """End every sign-in (page session and API token) of the user; how many ended."""
        async with self._sessions.begin() as session:
            result = await session.execute(delete(SessionRow).where(SessionRow.user_id == user_id))
            return int(getattr(result, "rowcount", 0) or 0)

    async def delete_expired(self, now: datetime) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(SessionRow).where(SessionRow.expires_at <= now))
            return int(getattr(result, "rowcount", 0) or 0)
