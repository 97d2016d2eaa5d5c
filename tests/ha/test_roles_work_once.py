"""Two base servers on one database (SQLite and PostgreSQL) hear the same work; it is done once: a conference's
chat message is archived once, a meeting reminder is sent once, a piece of work claimed by one is left by the other,
failed work can be done again, and work that may be repeated later is never done by two at the same time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.base.test_meeting_reminders import Clock, Lists
from tests.storage.conftest import database  # noqa: F401 - the SQLite and PostgreSQL fixture
from tests.storage.test_chat_retention import _conference
from tests.support.eventually import eventually
from veche.base.chat_archive import ChatArchive
from veche.base.conferences import ConferenceService
from veche.base.meeting_mail import MeetingMail
from veche.base.meeting_reminders import MeetingReminders
from veche.base.meetings import MeetingService, MeetingSpec
from veche.base.work_once import WorkOnce, work_key
from veche.bus.inproc import InProcessBus
from veche.bus.messages import ChatPosted
from veche.domain.clock import utc_now
from veche.storage.conferences import ChatStore, ConferenceStore
from veche.storage.database import Database
from veche.storage.meetings import MeetingStore
from veche.storage.users import UserStore
from veche.storage.work_claims import WorkClaimStore


def base_server(db: Database, name: str, *, keep: timedelta = timedelta(minutes=10)) -> WorkOnce:
    return WorkOnce(WorkClaimStore(db.sessions), name, utc_now, keep=keep)


async def test_a_chat_message_heard_by_two_base_servers_is_archived_once(database: Database) -> None:  # noqa: F811
    conference = await _conference(database, "two-bases")
    bus = InProcessBus("web-1")  # delivers every event to every subscriber, as NATS does to every base server
    try:
        for name in ("base-1", "base-2"):
            ChatArchive(bus, ChatStore(database.sessions), once=base_server(database, name))
        t0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
        said = ["hello", "hello", "again", "end"]  # the same text twice, said at two moments
        for n, text in enumerate(said):
            at = (t0 + timedelta(seconds=n)).isoformat()
            await bus.publish(ChatPosted(conference_id=conference, sender="p1", display_name="Ann", text=text, ts=at))
        store = ChatStore(database.sessions)

        async def texts() -> list[str]:
            return [e.text for e in await store.recent(conference, 10)]

        await eventually(texts, lambda found: len(found) >= len(said), what="the messages archived")
        assert await texts() == said
    finally:
        await bus.close()


async def test_work_claimed_by_one_base_server_is_left_by_the_other(database: Database) -> None:  # noqa: F811
    one, two = base_server(database, "base-1"), base_server(database, "base-2")
    done: list[str] = []
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow(who: str) -> str:
        started.set()
        await release.wait()
        done.append(who)
        return who

    async def fast(who: str) -> str:
        done.append(who)
        return who

    key = work_key("chat-post", "post-1")
    first = asyncio.create_task(one.run(key, lambda: slow("base-1")))
    await started.wait()
    assert await two.run(key, lambda: fast("base-2")) == (False, None)  # while base-1 does it
    release.set()
    assert await first == (True, "base-1")
    assert await two.run(key, lambda: fast("base-2")) == (False, None)  # a late duplicate: kept as done
    assert done == ["base-1"]


async def test_failed_work_can_be_done_by_the_other(database: Database) -> None:  # noqa: F811
    one, two = base_server(database, "base-1"), base_server(database, "base-2")
    key = work_key("chat-post", "post-2")

    async def broken() -> str:
        raise RuntimeError("the database went away")

    async def fine() -> str:
        return "stored"

    try:
        await one.run(key, broken)
    except RuntimeError:
        pass
    assert await two.run(key, fine) == (True, "stored")
    assert await one.run(work_key("x", 1), fine, succeeded=lambda r: r != "stored") == (True, "stored")
    assert await two.run(work_key("x", 1), fine) == (True, "stored")  # answered "failed": given back


async def test_work_without_keeping_is_never_done_by_two_at_once(database: Database) -> None:  # noqa: F811
    one, two = base_server(database, "base-1", keep=timedelta(0)), base_server(database, "base-2", keep=timedelta(0))
    inside = asyncio.Event()
    release = asyncio.Event()

    async def store_batch() -> str:
        inside.set()
        await release.wait()
        return "stored"

    async def quick() -> str:
        return "stored again"

    key = work_key("call-history", "batch")
    first = asyncio.create_task(one.run(key, store_batch))
    await inside.wait()
    assert await asyncio.gather(two.run(key, quick), two.run(key, quick)) == [(False, None), (False, None)]
    release.set()
    assert await first == (True, "stored")
    assert await two.run(key, quick) == (True, "stored again")  # later, doing it again is allowed


async def test_two_base_servers_send_each_meeting_reminder_once(database: Database) -> None:  # noqa: F811
    start = datetime(2027, 3, 22, 9, 0, tzinfo=UTC)
    clock = Clock(start - timedelta(days=1))
    users = UserStore(database.sessions)
    olga, ivan = [
        await users.create(
            login=n, display_name=n.title(), email=f"{n}@example.org", password_hash="h", is_admin=False, now=clock.now
        )
        for n in ("olga", "ivan")
    ]
    lists = Lists()
    mail = MeetingMail(base_url="https://veche.example.org", key=b"k" * 32)
    conferences = ConferenceService(ConferenceStore(database.sessions), users, clock, b"k" * 32)
    service = MeetingService(
        MeetingStore(database.sessions),
        conferences,
        users,
        mail,
        lists,
        lists,
        clock,
        key=b"k" * 32,
        open_before=timedelta(minutes=10),
        max_invitees=50,
        uid_domain="example.org",
    )
    spec = MeetingSpec(
        title="Standup",
        starts_at=start,
        duration_minutes=15,
        time_zone="Europe/Berlin",
        invite_users=(ivan.id,),
        invite_emails=("guest@example.com",),
        guests_allowed=True,
    )
    await service.create(olga, spec)
    lists.mails.clear()
    lists.notices.clear()
    clock.now = start - timedelta(minutes=14)
    bases = [MeetingReminders(service, users, mail, lists, lists, clock, leads=[15], interval_s=30) for _ in range(2)]
    sent = await asyncio.gather(*(base.run_once() for base in bases))
    assert sum(sent) == 3  # Olga, Ivan and the guest, between the two base servers
    assert [m.to for m in lists.mails] == ["guest@example.com"]
    assert sorted(n.user_id for n in lists.notices) == sorted([olga.id, ivan.id])
