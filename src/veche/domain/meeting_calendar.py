"""The iCalendar (RFC 5545 / iTIP RFC 5546) of a meeting: invitations (METHOD:REQUEST), updates (same UID, higher
SEQUENCE), cancellations (METHOD:CANCEL) of the series or of one occurrence (RECURRENCE-ID), and a user's feed
(METHOD:PUBLISH). Rendered with the ``icalendar`` package; times carry the meeting's TZID and a VTIMEZONE for it,
so calendar programs keep a weekly 10:00 at 10:00 across daylight saving. Pure: the stamp time is passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from icalendar import Calendar, Event, vCalAddress, vRecur, vText

from veche.domain.meetings import Answer, Meeting

__all__ = ["CalendarPerson", "FeedEntry", "Method", "render_feed", "render_meeting", "render_occurrence"]

PRODID = "-//Veche//Meetings//EN"
Method = Literal["REQUEST", "CANCEL", "PUBLISH"]


@dataclass(frozen=True)
class CalendarPerson:
    email: str
    name: str
    answer: Answer = Answer.NEEDS_ACTION


def _calendar(method: Method) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    return calendar


def _address(person: CalendarPerson) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    address.params["CN"] = vText(person.name or person.email)
    return address


@dataclass(frozen=True)
class _People:
    """What every VEVENT of one rendering shares."""

    organizer: CalendarPerson
    attendees: Sequence[CalendarPerson]
    url: str
    stamp: datetime


def _event(meeting: Meeting, parts: _People, status: str) -> Event:
    organizer, attendees, url, stamp = parts.organizer, parts.attendees, parts.url, parts.stamp
    event = Event()
    event.add("uid", meeting.uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("summary", meeting.title)
    event.add("status", status)
    event.add("url", url)
    event.add("location", url)
    event.add("description", f"Join: {url}")
    org = _address(organizer)
    event.add("organizer", org)
    for person in attendees:
        attendee = _address(person)
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        attendee.params["PARTSTAT"] = person.answer.partstat
        attendee.params["RSVP"] = "TRUE" if person.answer is Answer.NEEDS_ACTION else "FALSE"
        event.add("attendee", attendee)
    return event


def _local(meeting: Meeting, moment: datetime) -> datetime:
    return moment.astimezone(meeting.zone)


def _series_event(meeting: Meeting, parts: _People, status: str) -> Event:
    event = _event(meeting, parts, status)
    event.add("dtstart", _local(meeting, meeting.starts_at))
    event.add("dtend", _local(meeting, meeting.starts_at + meeting.duration))
    if meeting.recurrence:
        event.add("rrule", vRecur.from_ical(meeting.recurrence))
        cancelled = sorted(c.recurrence_id for c in meeting.changes if c.cancelled)
        if cancelled:
            event.add("exdate", [_local(meeting, c) for c in cancelled])
    return event


def _override_events(meeting: Meeting, parts: _People) -> list[Event]:
    """The occurrences moved or lengthened alone, as VEVENTs with RECURRENCE-ID (in the same object as the series)."""
    events = []
    for change in sorted(meeting.changes, key=lambda c: c.recurrence_id):
        if change.cancelled or not meeting.recurrence:
            continue
        events.append(_occurrence_event(meeting, parts, change.recurrence_id, "CONFIRMED"))
    return events


def _occurrence_event(meeting: Meeting, parts: _People, recurrence_id: datetime, status: str) -> Event:
    change = meeting.change_of(recurrence_id)
    start = change.starts_at if change and change.starts_at else recurrence_id
    minutes = change.duration_minutes if change and change.duration_minutes else meeting.duration_minutes
    event = _event(meeting, parts, status)
    event.add("recurrence-id", _local(meeting, recurrence_id))
    event.add("dtstart", _local(meeting, start))
    event.add("dtend", _local(meeting, start + timedelta(minutes=minutes)))
    return event


def render_meeting(
    meeting: Meeting,
    method: Literal["REQUEST", "CANCEL"],
    *,
    organizer: CalendarPerson,
    attendees: Sequence[CalendarPerson],
    url: str,
    stamp: datetime,
) -> bytes:
    """The whole series: an invitation or update (REQUEST, with its moved occurrences) or its cancellation."""
    calendar = _calendar(method)
    parts = _People(organizer, attendees, url, stamp)
    if method == "CANCEL":
        calendar.add_component(_series_event(meeting, parts, "CANCELLED"))
    else:
        calendar.add_component(_series_event(meeting, parts, "CONFIRMED"))
        for event in _override_events(meeting, parts):
            calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def render_occurrence(
    meeting: Meeting,
    recurrence_id: datetime,
    method: Literal["REQUEST", "CANCEL"],
    *,
    organizer: CalendarPerson,
    attendees: Sequence[CalendarPerson],
    url: str,
    stamp: datetime,
) -> bytes:
    """One occurrence alone: its new time (REQUEST) or its cancellation (CANCEL), named by RECURRENCE-ID."""
    calendar = _calendar(method)
    status = "CANCELLED" if method == "CANCEL" else "CONFIRMED"
    parts = _People(organizer, attendees, url, stamp)
    calendar.add_component(_occurrence_event(meeting, parts, recurrence_id, status))
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


@dataclass(frozen=True)
class FeedEntry:
    meeting: Meeting
    organizer: CalendarPerson
    attendees: Sequence[CalendarPerson]
    url: str


def render_feed(entries: Sequence[FeedEntry], *, stamp: datetime, name: str) -> bytes:
    """A user's private feed: every meeting he owns or is invited to, series with their exceptions."""
    calendar = _calendar("PUBLISH")
    calendar.add("x-wr-calname", name)
    for entry in entries:
        parts = _People(entry.organizer, entry.attendees, entry.url, stamp)
        calendar.add_component(_series_event(entry.meeting, parts, "CONFIRMED"))
        for event in _override_events(entry.meeting, parts):
            calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
