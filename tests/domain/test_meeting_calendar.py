"""The iCalendar of a meeting, parsed back with the ``icalendar`` package: what calendar programs read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from veche.domain.meeting_calendar import CalendarPerson, FeedEntry, render_feed, render_meeting, render_occurrence
from veche.domain.meetings import Answer, Invitee, Meeting, OccurrenceChange

START = datetime(2027, 3, 22, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin
URL = "https://veche.example.org/c/abc"
ORGANIZER = CalendarPerson("olga@example.org", "Olga Owner")
ATTENDEES = [
    CalendarPerson("ivan@example.org", "Ivan", Answer.ACCEPTED),
    CalendarPerson("guest@example.com", "guest@example.com"),
]


def _meeting(**changes: object) -> Meeting:
    meeting = Meeting(
        id=7,
        uid="abc-7@example.org",
        owner_id=1,
        conference_id=3,
        title="Weekly sync",
        starts_at=START,
        duration_minutes=45,
        time_zone="Europe/Berlin",
        recurrence="FREQ=WEEKLY;BYDAY=MO",
        sequence=2,
        guests_allowed=True,
        moderated=False,
        pin=None,
        created_at=START - timedelta(days=1),
        invitees=(Invitee(1, 2, "ivan@example.org", "Ivan", Answer.ACCEPTED),),
    )
    return Meeting(**{**meeting.__dict__, **changes})  # type: ignore[arg-type]


def _parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def test_an_invitation_has_uid_sequence_rrule_exdate_vtimezone_and_attendees() -> None:
    cancelled = START + timedelta(days=14) - timedelta(hours=1)  # 5 Apr 10:00 CEST
    meeting = _meeting(changes=(OccurrenceChange(recurrence_id=cancelled, cancelled=True),))
    calendar = _parse(
        render_meeting(meeting, "REQUEST", organizer=ORGANIZER, attendees=ATTENDEES, url=URL, stamp=START)
    )
    assert calendar["METHOD"] == "REQUEST"
    [zone] = calendar.walk("VTIMEZONE")
    assert zone["TZID"] == "Europe/Berlin"
    [event] = calendar.walk("VEVENT")
    assert event["UID"] == "abc-7@example.org"
    assert event["SEQUENCE"] == 2
    assert event["SUMMARY"] == "Weekly sync"
    assert event["URL"] == URL and event["LOCATION"] == URL
    assert event.decoded("DTSTART") == START
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=45)
    assert event["RRULE"].to_ical() == b"FREQ=WEEKLY;BYDAY=MO"
    assert [d.dt for d in event["EXDATE"].dts] == [cancelled]
    assert str(event["ORGANIZER"]) == "mailto:olga@example.org"
    attendees = {str(a): a.params for a in event["ATTENDEE"]}
    assert attendees["mailto:ivan@example.org"]["PARTSTAT"] == "ACCEPTED"
    assert attendees["mailto:guest@example.com"]["PARTSTAT"] == "NEEDS-ACTION"
    assert attendees["mailto:guest@example.com"]["RSVP"] == "TRUE"


def test_a_cancellation_keeps_the_uid() -> None:
    calendar = _parse(
        render_meeting(_meeting(sequence=3), "CANCEL", organizer=ORGANIZER, attendees=ATTENDEES, url=URL, stamp=START)
    )
    assert calendar["METHOD"] == "CANCEL"
    [event] = calendar.walk("VEVENT")
    assert (event["UID"], event["SEQUENCE"], event["STATUS"]) == ("abc-7@example.org", 3, "CANCELLED")


def test_one_occurrence_moved_and_one_cancelled_are_named_by_recurrence_id() -> None:
    second = START + timedelta(days=7) - timedelta(hours=1)
    moved = second + timedelta(hours=2)
    meeting = _meeting(changes=(OccurrenceChange(recurrence_id=second, starts_at=moved),), sequence=4)
    changed = _parse(
        render_occurrence(meeting, second, "REQUEST", organizer=ORGANIZER, attendees=ATTENDEES, url=URL, stamp=START)
    )
    [event] = changed.walk("VEVENT")
    assert changed["METHOD"] == "REQUEST"
    assert event.decoded("RECURRENCE-ID") == second and event.decoded("DTSTART") == moved
    assert event["SEQUENCE"] == 4 and "RRULE" not in event
    cancel = _parse(
        render_occurrence(meeting, second, "CANCEL", organizer=ORGANIZER, attendees=ATTENDEES, url=URL, stamp=START)
    )
    [event] = cancel.walk("VEVENT")
    assert cancel["METHOD"] == "CANCEL" and event["STATUS"] == "CANCELLED"
    assert event.decoded("RECURRENCE-ID") == second
    # The whole series, sent again, carries the moved occurrence as its own VEVENT.
    series = _parse(render_meeting(meeting, "REQUEST", organizer=ORGANIZER, attendees=ATTENDEES, url=URL, stamp=START))
    events = series.walk("VEVENT")
    assert len(events) == 2 and events[1].decoded("RECURRENCE-ID") == second


def test_a_feed_publishes_every_meeting() -> None:
    entries = [
        FeedEntry(_meeting(), ORGANIZER, ATTENDEES, URL),
        FeedEntry(_meeting(id=8, uid="x-8@example.org", recurrence=None), ORGANIZER, ATTENDEES, URL),
    ]
    calendar = _parse(render_feed(entries, stamp=START, name="Veche: Olga"))
    assert calendar["METHOD"] == "PUBLISH"
    assert [e["UID"] for e in calendar.walk("VEVENT")] == ["abc-7@example.org", "x-8@example.org"]
