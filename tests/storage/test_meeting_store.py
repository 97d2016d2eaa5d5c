"""The meeting store on SQLite and PostgreSQL: a series with invitees and exceptions, the lists filtered and
paged in the database, occurrence changes, answers kept across updates, reminders claimed once, feed and profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from veche.domain.meetings import Answer, OccurrenceChange
from veche.domain.model import ConferenceAccess, ConferenceType, User
from veche.storage.conferences import ConferenceStore
from veche.storage.database import Database
from veche.storage.directory_tables import DirectoryGroupRow, DirectoryUserGroupRow
from veche.storage.meetings import MeetingFields, MeetingStore, NewInvitee, Profile
from veche.storage.users import UserStore

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _fields(start: datetime, *, rule: str | None = "FREQ=WEEKLY", end: datetime | None = None) -> MeetingFields:
    return MeetingFields(
        title="Sync",
        starts_at=start,
        duration_minutes=30,
        time_zone="Europe/Berlin",
        recurrence=rule,
        series_end=end,
        guests_allowed=True,
        moderated=False,
        pin="1234",
    )


async def _people(database: Database, count: int) -> list[User]:
    users = UserStore(database.sessions)
    return [
        await users.create(
            login=f"p{n}", display_name=f"P {n}", email=f"p{n}@example.org", password_hash="h", is_admin=False, now=NOW
        )
        for n in range(count)
    ]


async def _conference(database: Database, owner: int, n: int) -> int:
    made = await ConferenceStore(database.sessions).create(
        name=f"m{n}",
        owner_id=owner,
        type=ConferenceType.ALL_SEE_ALL,
        max_participants=10,
        guests_allowed=True,
        access=ConferenceAccess.INVITED,
        invite_code=f"code-{n}",
        slug=f"slug-{n}",
        invited=set(),
        moderators=set(),
        now=NOW,
    )
    return made.id


async def test_a_series_round_trips_and_lists_are_paged_and_filtered_in_the_store(database: Database) -> None:
    owner, ivan, anna = await _people(database, 3)
    store = MeetingStore(database.sessions)
    start = NOW + timedelta(days=1)
    exception = start + timedelta(days=7)
    weekly = await store.create(
        uid_for="t-{id}@example.org",
        owner_id=owner.id,
        conference_id=await _conference(database, owner.id, 1),
        fields=_fields(start),
        invitees=[
            NewInvitee(ivan.id, ivan.email, ivan.display_name),
            NewInvitee(None, "x@example.com", "x@example.com"),
        ],
        changes=[OccurrenceChange(recurrence_id=exception, cancelled=True)],
        now=NOW,
    )
    assert weekly.uid == f"t-{weekly.id}@example.org" and weekly.sequence == 0
    assert weekly.starts_at == start and weekly.pin == "1234" and weekly.conference_slug == "slug-1"
    assert [(i.user_id, i.email, i.answer) for i in weekly.invitees] == [
        (ivan.id, "p1@example.org", Answer.NEEDS_ACTION),
        (None, "x@example.com", Answer.NEEDS_ACTION),
    ]
    assert weekly.changes == (OccurrenceChange(recurrence_id=exception, cancelled=True),)
    once_end = start + timedelta(days=3, minutes=30)
    once = await store.create(
        uid_for="o-{id}@example.org",
        owner_id=ivan.id,
        conference_id=await _conference(database, ivan.id, 2),
        fields=_fields(start + timedelta(days=3), rule=None, end=once_end),
        invitees=[],
        changes=[],
        now=NOW,
    )
    mine = await store.mine(ivan.id, limit=1)
    assert mine.total == 2 and [m.id for m in mine.meetings] == [weekly.id]
    assert [m.id for m in (await store.mine(ivan.id, limit=1, offset=1)).meetings] == [once.id]
    assert (await store.mine(anna.id)).total == 0
    later = await store.mine_between(ivan.id, once_end + timedelta(days=1), once_end + timedelta(days=8))
    assert [m.id for m in later] == [weekly.id]  # the single meeting is over by then: not even loaded
    assert [m.id for m in await store.between(NOW, NOW + timedelta(days=30), after_id=weekly.id)] == [once.id]


async def test_changes_answers_reminders_feed_and_profile(database: Database) -> None:
    owner, ivan, anna = await _people(database, 3)
    store = MeetingStore(database.sessions)
    start = NOW + timedelta(days=1)
    meeting = await store.create(
        uid_for="t-{id}@example.org",
        owner_id=owner.id,
        conference_id=await _conference(database, owner.id, 1),
        fields=_fields(start),
        invitees=[NewInvitee(ivan.id, ivan.email, ivan.display_name), NewInvitee(anna.id, anna.email, "A")],
        changes=[],
        now=NOW,
    )
    ivan_invite = meeting.invitee_of(ivan.id)
    assert ivan_invite is not None
    assert await store.set_answer(meeting.id, ivan_invite.id, Answer.ACCEPTED)
    assert not await store.set_answer(meeting.id + 99, ivan_invite.id, Answer.ACCEPTED)

    moved = OccurrenceChange(recurrence_id=start + timedelta(days=7), starts_at=start + timedelta(days=7, hours=2))
    changed = await store.set_change(meeting.id, moved, series_end=None)
    assert changed is not None and changed.sequence == 1 and changed.changes == (moved,)

    # A new title keeps answers and changes; Anna is dropped, an address is added.
    updated = await store.update(
        meeting.id,
        _fields(start),
        invitees=[NewInvitee(ivan.id, ivan.email, ivan.display_name), NewInvitee(None, "y@example.com", "y")],
        clear_changes=False,
        reset_answers=False,
    )
    assert updated is not None and updated.sequence == 2 and updated.changes == (moved,)
    assert [(i.email, i.answer) for i in updated.invitees] == [
        ("p1@example.org", Answer.ACCEPTED),
        ("y@example.com", Answer.NEEDS_ACTION),
    ]
    # A new time: everyone answers again and changed occurrences go.
    retimed = await store.update(
        meeting.id, _fields(start + timedelta(hours=1)), invitees=None, clear_changes=True, reset_answers=True
    )
    assert (
        retimed is not None and retimed.changes == () and {i.answer for i in retimed.invitees} == {Answer.NEEDS_ACTION}
    )

    assert await store.claim_reminder(meeting.id, start, "user:2", 15, NOW)
    assert not await store.claim_reminder(meeting.id, start, "user:2", 15, NOW)  # once, even from another server
    assert await store.claim_reminder(meeting.id, start + timedelta(days=7), "user:2", 15, NOW)

    await store.set_feed_token(ivan.id, "a" * 64, NOW)
    assert await store.feed_user("a" * 64) == ivan.id
    await store.set_feed_token(ivan.id, "b" * 64, NOW)
    assert await store.feed_user("a" * 64) is None and await store.has_feed_token(ivan.id)

    assert await store.profile(ivan.id) is None
    await store.set_profile(ivan.id, Profile("Asia/Tokyo", "ru"))
    await store.set_profile(ivan.id, Profile("Europe/Paris", "fr"))
    assert await store.profile(ivan.id) == Profile("Europe/Paris", "fr")

    assert await store.delete(meeting.id) and await store.get(meeting.id) is None


async def test_directory_group_members_are_found_in_the_store(database: Database) -> None:
    people = await _people(database, 4)
    async with database.sessions.begin() as session:
        group = DirectoryGroupRow(source="corp", external_id="g1", dn="cn=sales", name="Sales_Team")
        session.add(group)
        await session.flush()
        session.add_all(DirectoryUserGroupRow(user_id=p.id, group_id=group.id) for p in people[1:])
        group_id = group.id
    store = MeetingStore(database.sessions)
    found = await store.group_members(group_id, limit=2)
    assert found is not None and found.name == "Sales_Team" and found.more
    assert [m[0] for m in found.members] == [people[1].id, people[2].id]
    assert await store.group_members(group_id + 1, limit=5) is None
    assert await store.search_groups("sales_") == [(group_id, "Sales_Team")]
    assert await store.search_groups("%") == []
