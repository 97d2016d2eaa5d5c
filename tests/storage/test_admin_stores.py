"""The console's store queries on SQLite and PostgreSQL: users and conferences paged and searched in SQL, updated
and deleted with what hangs on them."""

from __future__ import annotations

from veche.domain.clock import utc_now
from veche.domain.model import ConferenceAccess, ConferenceType
from veche.storage.conferences import ConferenceStore
from veche.storage.database import Database
from veche.storage.users import SessionStore, UserStore


async def _users(store: UserStore, count: int) -> list[int]:
    ids = []
    for i in range(count):
        user = await store.create(
            login=f"u{i:02d}",
            display_name=f"Пётр {i:02d}",
            email=f"u{i:02d}@x.org",
            password_hash=None,
            is_admin=False,
            now=utc_now(),
        )
        ids.append(user.id)
    return ids


async def _conference(
    store: ConferenceStore, name: str, owner: int, *, call_pair: str | None = None, invited: set[int] | None = None
) -> int:
    created = await store.create(
        name=name,
        owner_id=owner,
        type=ConferenceType.ALL_SEE_ALL,
        max_participants=10,
        guests_allowed=False,
        access=ConferenceAccess.OPEN,
        invite_code=f"code-{name}",
        slug=f"slug-{name}"[:32],
        invited=invited or set(),
        call_pair=call_pair,
        moderators=set(),
        now=utc_now(),
    )
    return created.id


async def test_users_page_count_and_search(database: Database) -> None:
    store = UserStore(database.sessions)
    await _users(store, 30)
    page = await store.page(limit=10, offset=20)
    assert [u.login for u in page.users] == [f"u{i:02d}" for i in range(20, 30)] and page.total == 30
    found = await store.page(query="ПЁТР 1", limit=5)  # folded as the address book folds (ё as е)
    assert found.total == 10 and [u.login for u in found.users] == [f"u1{i}" for i in range(5)]
    assert (await store.page(query="1%")).total == 0  # "%" is a character, not a wildcard


async def test_update_and_delete_a_user(database: Database) -> None:
    users, sessions, conferences = (
        UserStore(database.sessions),
        SessionStore(database.sessions),
        ConferenceStore(database.sessions),
    )
    heir, olga, boris = await _users(users, 3)
    await sessions.create(token_hash="h" * 64, user_id=olga, kind="cookie", now=utc_now(), expires_at=utc_now())
    updated = await users.update(olga, display_name="Ольга", is_admin=True, now=utc_now())
    assert updated is not None and (updated.display_name, updated.is_admin, updated.email) == (
        "Ольга",
        True,
        "u01@x.org",
    )
    assert [u.login for u in (await users.page(query="ольга")).users] == ["u01"]
    owned = await _conference(conferences, "owned", olga, invited={boris})
    call = await _conference(conferences, "call", boris, call_pair=f"{olga}:{boris}", invited={olga, boris})
    assert await users.delete(olga, heir_id=heir)
    assert not await users.delete(olga, heir_id=heir)
    assert await users.get(olga) is None and await users.update(olga, disabled=True, now=utc_now()) is None
    kept = await conferences.get(owned)
    assert kept is not None and kept.owner_id == heir and kept.invited == frozenset({boris})
    assert await conferences.get(call) is None
    assert await sessions.delete_for_user(olga) == 0  # his sign-ins went with him


async def test_conferences_page_update_delete(database: Database) -> None:
    users, conferences = UserStore(database.sessions), ConferenceStore(database.sessions)
    owner, other = await _users(users, 2)
    ids = [await _conference(conferences, f"Meeting {i:02d}", owner) for i in range(12)]
    page = await conferences.page(query="meeting 1", limit=2, offset=1)
    assert page.total == 2 and [c.name for c in page.conferences] == ["Meeting 11"]
    changed = await conferences.update(ids[0], name="Retro", moderators={other}, access=ConferenceAccess.INVITED)
    assert changed is not None and (changed.name, changed.moderators, changed.access) == (
        "Retro",
        frozenset({other}),
        ConferenceAccess.INVITED,
    )
    assert await conferences.update(10**9, name="x") is None
    assert await conferences.delete(ids[0]) and not await conferences.delete(ids[0])
    assert (await conferences.page()).total == 11
