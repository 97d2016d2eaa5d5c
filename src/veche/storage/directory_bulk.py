"""PostgreSQL fast path of the directory sync: one statement per batch with array parameters (``unnest``).

A first sync writes millions of rows; SQLAlchemy's generic multi-row VALUES costs a bind parameter per cell and
most of the sync's CPU. These statements take a handful of arrays instead. SQLite uses the generic path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["existing_entries", "insert_entries", "insert_members", "insert_users", "is_postgres"]

_EXISTING = text(
    "SELECT external_id, user_id, fingerprint FROM directory_entries "
    "WHERE source = :source AND external_id = ANY(CAST(:ids AS text[]))"
)
_USERS = text(
    "INSERT INTO users (login, display_name, email, password_hash, is_admin, disabled, created_at) "
    "SELECT l, n, m, NULL, false, d, :now FROM unnest("
    "CAST(:logins AS text[]), CAST(:names AS text[]), CAST(:emails AS text[]), CAST(:disabled AS boolean[])"
    ") AS t(l, n, m, d) ON CONFLICT (login) DO NOTHING RETURNING id, login"
)
_ENTRY_COLUMNS = (
    ("user_id", "int"), ("source", "text"), ("external_id", "text"), ("dn", "text"), ("phone", "text"),
    ("department", "text"), ("title", "text"), ("name_key", "text"), ("login_key", "text"), ("email_key", "text"),
    ("department_key", "text"), ("search_text", "text"), ("access", "int"), ("fingerprint", "text"),
)  # fmt: skip
_ENTRIES = text(
    f"INSERT INTO directory_entries ({', '.join(c for c, _ in _ENTRY_COLUMNS)}, updated_at) "
    f"SELECT *, CAST(:now AS timestamptz) FROM unnest("
    + ", ".join(f"CAST(:{c} AS {t}[])" for c, t in _ENTRY_COLUMNS)
    + ")"
)


_MEMBERS = text(
    "INSERT INTO directory_group_members (group_id, member_dn) "
    "SELECT * FROM unnest(CAST(:group_ids AS int[]), CAST(:dns AS text[])) ON CONFLICT DO NOTHING"
)


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def existing_entries(session: AsyncSession, source: str, ids: list[str]) -> Sequence[Row[Any]]:
    return (await session.execute(_EXISTING, {"source": source, "ids": ids})).all()


async def insert_members(session: AsyncSession, group_ids: list[int], dns: list[str]) -> None:
    """Pairs (group_ids[i], dns[i])."""
    await session.execute(_MEMBERS, {"group_ids": group_ids, "dns": dns})


async def insert_users(session: AsyncSession, rows: list[dict[str, Any]], now: datetime) -> dict[str, int]:
    result = await session.execute(
        _USERS,
        {
            "now": now,
            "logins": [r["login"] for r in rows],
            "names": [r["display_name"] for r in rows],
            "emails": [r["email"] for r in rows],
            "disabled": [r["disabled"] for r in rows],
        },
    )
    return {r.login: r.id for r in result}


async def insert_entries(session: AsyncSession, rows: list[dict[str, Any]], now: datetime) -> None:
    params: dict[str, Any] = {c: [r[c] for r in rows] for c, _ in _ENTRY_COLUMNS}
    params["now"] = now
    await session.execute(_ENTRIES, params)
