"""User and login-session persistence."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.domain.errors import Conflict
from veche.domain.model import User
from veche.storage.address_book import local_entry
from veche.storage.tables import SessionRow, UserRow

__all__ = ["SessionStore", "UserStore"]


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

    async def delete_expired(self, now: datetime) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(SessionRow).where(SessionRow.expires_at <= now))
            return int(getattr(result, "rowcount", 0) or 0)
