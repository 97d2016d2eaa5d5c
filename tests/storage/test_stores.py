"""The stores on SQLite and PostgreSQL: what is written is read back, and failures write nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from veche.domain.errors import Conflict
from veche.domain.model import ConferenceAccess, ConferenceType
from veche.domain.room import ChatEntry
from veche.storage.conferences import ChatStore, ConferenceStore
from veche.storage.database import Database
from veche.storage.users import SessionStore, UserStore

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


async def _user(users: UserStore, login: str, admin: bool = False) -> int:
    user = await users.create(
        login=login,
        display_name=login.title(),
        email=f"{login}@example.org",
        password_hash="h",
        is_admin=admin,
        now=NOW,
    )
    return user.id


async def test_users_round_trip_and_unique_login(database: Database) -> None:
    users = UserStore(database.sessions)
    uid = await _user(users, "ivan")
    found = await users.by_login("IVAN")
    assert found is not None and found[0].id == uid and found[1] == "h"
    with pytest.raises(Conflict, match="already exists"):
        await _user(users, "ivan")
    assert await users.count() == 1


async def test_sessions_expire(database: Database) -> None:
    users = UserStore(database.sessions)
    sessions = SessionStore(database.sessions)
    uid = await _user(users, "olga")
    await sessions.create(token_hash="a" * 64, user_id=uid, kind="api", now=NOW, expires_at=NOW + timedelta(hours=1))
    assert (await sessions.user_for("a" * 64, NOW)).login == "olga"  # type: ignore[union-attr]
    assert await sessions.user_for("a" * 64, NOW + timedelta(hours=2)) is None
    assert await sessions.delete_expired(NOW + timedelta(hours=2)) == 1


async def test_conference_with_members_round_trip(database: Database) -> None:
    users = UserStore(database.sessions)
    conferences = ConferenceStore(database.sessions)
    owner, guest_user, mod = await _user(users, "owner"), await _user(users, "anna"), await _user(users, "boris")
    created = await conferences.create(
        name="Планёрка",
        owner_id=owner,
        type=ConferenceType.MODERATED,
        max_participants=10,
        guests_allowed=True,
        access=ConferenceAccess.INVITED,
        invite_code="code-1",
        slug="slug-1",
        invited={guest_user},
        moderators={mod},
        now=NOW,
    )
    again = await conferences.get(created.id)
    assert again == created
    assert again.invited == {guest_user} and again.moderators == {mod}
    assert (await conferences.by_invite_code("code-1")) == created
    assert [c.id for c in await conferences.list_all()] == [created.id]


async def test_conference_with_unknown_member_writes_nothing(database: Database) -> None:
    users = UserStore(database.sessions)
    conferences = ConferenceStore(database.sessions)
    owner = await _user(users, "owner")
    with pytest.raises(Conflict):
        await conferences.create(
            name="Broken",
            owner_id=owner,
            type=ConferenceType.ALL_SEE_ALL,
            max_participants=10,
            guests_allowed=False,
            access=ConferenceAccess.OPEN,
            invite_code="code-2",
            slug="slug-2",
            invited={999_999},
            moderators=set(),
            now=NOW,
        )
    assert await conferences.list_all() == []


async def test_chat_history_in_order(database: Database) -> None:
    users = UserStore(database.sessions)
    conferences = ConferenceStore(database.sessions)
    chat = ChatStore(database.sessions)
    owner = await _user(users, "owner")
    conf = await conferences.create(
        name="Chat",
        owner_id=owner,
        type=ConferenceType.ALL_SEE_ALL,
        max_participants=5,
        guests_allowed=False,
        access=ConferenceAccess.OPEN,
        invite_code="c3",
        slug="s3",
        invited=set(),
        moderators=set(),
        now=NOW,
    )
    for i in range(3):
        ts = (NOW + timedelta(seconds=i)).isoformat()
        await chat.add(conf.id, ChatEntry(sender="p1", display_name="Owner", text=f"привет {i}", ts=ts))
    history = await chat.recent(conf.id, limit=2)
    assert [m.text for m in history] == ["привет 1", "привет 2"]
