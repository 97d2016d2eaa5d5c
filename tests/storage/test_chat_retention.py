"""Chat retention on SQLite and PostgreSQL: one DELETE drops what is older than the retention, keeps the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from veche.base.chat_archive import ChatArchive
from veche.bus.inproc import InProcessBus
from veche.bus.messages import ChatPosted
from veche.domain.model import ConferenceAccess, ConferenceType
from veche.domain.room import ChatEntry
from veche.storage.conferences import ChatStore, ConferenceStore
from veche.storage.database import Database
from veche.storage.users import UserStore

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


async def _conference(database: Database, code: str) -> int:
    users = UserStore(database.sessions)
    owner = await users.by_login("owner")
    if owner is None:
        owner_id = (
            await users.create(
                login="owner", display_name="Owner", email="", password_hash="h", is_admin=False, now=NOW
            )
        ).id
    else:
        owner_id = owner[0].id
    conf = await ConferenceStore(database.sessions).create(
        name="Chat",
        owner_id=owner_id,
        type=ConferenceType.ALL_SEE_ALL,
        max_participants=5,
        guests_allowed=False,
        access=ConferenceAccess.OPEN,
        invite_code=code,
        slug=f"s-{code}",
        invited=set(),
        moderators=set(),
        now=NOW,
    )
    return conf.id


def _entry(text: str, at: datetime) -> ChatEntry:
    return ChatEntry(sender="p1", display_name="Owner", text=text, ts=at.isoformat())


async def test_delete_before_drops_old_messages_only(database: Database) -> None:
    chat = ChatStore(database.sessions)
    first, second = await _conference(database, "r1"), await _conference(database, "r2")
    cutoff = NOW - timedelta(days=90)
    await chat.add(first, _entry("old", cutoff - timedelta(days=1)))
    await chat.add(first, _entry("just old", cutoff - timedelta(milliseconds=1)))
    await chat.add(first, _entry("at the cutoff", cutoff))
    await chat.add(first, _entry("new", NOW))
    await chat.add(second, _entry("old elsewhere", cutoff - timedelta(hours=3)))
    await chat.add(second, _entry("new elsewhere", NOW - timedelta(days=1)))

    # The cutoff given in another offset is the same instant.
    assert await chat.delete_before(cutoff.astimezone(timezone(timedelta(hours=3)))) == 3
    assert [m.text for m in await chat.recent(first)] == ["at the cutoff", "new"]
    assert [m.text for m in await chat.recent(second)] == ["new elsewhere"]
    assert await chat.delete_before(cutoff) == 0


async def test_archive_purges_at_most_once_an_hour(database: Database) -> None:
    conf = await _conference(database, "r3")
    store = ChatStore(database.sessions)
    now = [NOW]
    bus = InProcessBus()
    archive = ChatArchive(bus, store, retention=timedelta(days=90), clock=lambda: now[0])

    async def post(text: str, at: datetime) -> None:
        await bus.publish(
            ChatPosted(conference_id=conf, sender="p1", display_name="Owner", text=text, ts=at.isoformat())
        )
        await bus.wait_delivered()  # stored, and purged or not, while the archive's clock says ``at``

    await store.add(conf, _entry("ancient", NOW - timedelta(days=200)))
    await post("first", NOW)  # the first message since start purges
    assert [m.text for m in await archive.history(conf)] == ["first"]

    await store.add(conf, _entry("ancient 2", NOW - timedelta(days=200)))
    now[0] = NOW + timedelta(minutes=59)
    await post("second", now[0])  # within the hour: no purge
    assert [m.text for m in await archive.history(conf)] == ["ancient 2", "first", "second"]

    now[0] = NOW + timedelta(hours=1)
    await post("third", now[0])
    assert [m.text for m in await archive.history(conf)] == ["first", "second", "third"]


async def test_retention_off_keeps_everything(database: Database) -> None:
    conf = await _conference(database, "r4")
    store = ChatStore(database.sessions)
    bus = InProcessBus()
    archive = ChatArchive(bus, store, retention=None, clock=lambda: NOW)
    await store.add(conf, _entry("ancient", NOW - timedelta(days=20 * 365)))
    await bus.publish(ChatPosted(conference_id=conf, sender="p1", display_name="Owner", text="hi", ts=NOW.isoformat()))
    await bus.wait_delivered()
    assert await archive.purge(NOW) == 0
    assert [m.text for m in await archive.history(conf)] == ["ancient", "hi"]
