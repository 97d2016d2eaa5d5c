"""Reminders before each occurrence: once per occurrence and person, across a restart, not to those who declined;
on SQLite and PostgreSQL, with the clock passed in and mails and notices going to lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from tests.storage.conftest import database  # noqa: F401 - the per-test migrated database
from veche.base.conferences import ConferenceService
from veche.base.meeting_mail import MeetingMail
from veche.base.meeting_reminders import MeetingReminders, due_reminders
from veche.base.meetings import MeetingService, MeetingSpec
from veche.domain.meetings import Answer, Occurrence
from veche.domain.notifications import Notice, OutgoingMail
from veche.storage.conferences import ConferenceStore
from veche.storage.database import Database
from veche.storage.meetings import MeetingStore
from veche.storage.users import UserStore

START = datetime(2027, 3, 22, 9, 0, tzinfo=UTC)


class Lists:
    def __init__(self) -> None:
        self.mails: list[OutgoingMail] = []
        self.notices: list[Notice] = []

    async def enqueue(self, mails: Sequence[OutgoingMail]) -> None:
        self.mails.extend(mails)

    async def notify(self, notices: Sequence[Notice]) -> None:
        self.notices.extend(notices)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_the_nearest_due_lead_of_each_occurrence_not_yet_started() -> None:
    one = Occurrence(START, START, START + timedelta(hours=1))
    assert due_reminders([one], [60, 15], START - timedelta(minutes=61)) == []
    assert [d.lead_minutes for d in due_reminders([one], [60, 15], START - timedelta(minutes=30))] == [60]
    assert [d.lead_minutes for d in due_reminders([one], [60, 15], START - timedelta(minutes=5))] == [15]
    assert due_reminders([one], [60, 15], START) == []  # started: too late for a reminder


async def test_reminders_go_once_per_occurrence_and_person_even_after_a_restart(database: Database) -> None:  # noqa: F811
    clock = Clock(START - timedelta(days=1))
    users = UserStore(database.sessions)
    people = [
        await users.create(
            login=n, display_name=n.title(), email=f"{n}@example.org", password_hash="h", is_admin=False, now=clock.now
        )
        for n in ("olga", "ivan", "anna")
    ]
    olga, ivan, anna = people
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
        starts_at=START,
        duration_minutes=15,
        time_zone="Europe/Berlin",
        recurrence="FREQ=WEEKLY",
        invite_users=(ivan.id, anna.id),
        invite_emails=("guest@example.com",),
        guests_allowed=True,
    )
    meeting = await service.create(olga, spec)
    await service.answer(anna, meeting.id, Answer.DECLINED)
    lists.mails.clear()
    lists.notices.clear()

    def reminders() -> MeetingReminders:  # a new one: as after a restart of the base role
        return MeetingReminders(service, users, mail, lists, lists, clock, leads=[15], interval_s=30)

    clock.now = START - timedelta(minutes=16)
    assert await reminders().run_once() == 0
    clock.now = START - timedelta(minutes=14)
    assert await reminders().run_once() == 3  # Olga, Ivan, the guest; not Anna, who declined
    # Users: a notice (the notifier mails it as they prefer); the address: a mail with the guest link.
    assert sorted((n.user_id, n.kind) for n in lists.notices) == [(olga.id, "reminder"), (ivan.id, "reminder")]
    assert {n.title for n in lists.notices} == {"Standup starts in 15 minutes"}
    [guest] = lists.mails
    assert (guest.to, guest.subject) == ("guest@example.com", "Reminder: Standup at 10:00")
    assert "https://veche.example.org/join/" in guest.text

    clock.now = START - timedelta(minutes=5)
    assert await reminders().run_once() == 0  # restarted: nothing twice
    assert (len(lists.mails), len(lists.notices)) == (1, 2)

    clock.now = START + timedelta(days=7, minutes=-14) - timedelta(hours=1)  # next Monday 10:00 CEST
    assert await reminders().run_once() == 3  # the next occurrence has its own
