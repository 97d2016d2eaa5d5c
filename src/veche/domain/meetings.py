"""Scheduled meetings as the rest of the code sees them: the series, its invitees and their answers, and the
occurrences changed or cancelled alone. Pure values; the rules over them are in domain/recurrence.py (when it
happens), domain/meeting_calendar.py (the iCalendar of it) and domain/meeting_window.py (when one may join).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from veche.domain.errors import Forbidden, InvalidInput

__all__ = [
    "Answer",
    "Invitee",
    "MAX_DURATION_MINUTES",
    "Meeting",
    "MeetingNotOpen",
    "PinRequired",
    "Occurrence",
    "OccurrenceChange",
    "check_email",
    "check_moment",
    "check_pin",
    "check_time_zone",
    "meeting_uid",
]

MAX_DURATION_MINUTES = 24 * 60
_EMAIL = re.compile(r"[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
_PIN = re.compile(r"[0-9]{4,12}")


class PinRequired(Forbidden):
    """A guest's join of a meeting with a PIN, without it or with a wrong one."""

    code = "pin_required"


class MeetingNotOpen(Forbidden):
    """A join before the meeting opens (or after its last occurrence); the message says when it opens."""

    code = "meeting_not_open"


class Answer(enum.StrEnum):
    """An invitee's answer (iCalendar PARTSTAT, lower case)."""

    NEEDS_ACTION = "needs_action"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    TENTATIVE = "tentative"

    @property
    def partstat(self) -> str:
        return self.value.upper().replace("_", "-")


@dataclass(frozen=True)
class Invitee:
    """A user of Veche (``user_id``) or an external address (``user_id`` None: he joins by the guest link)."""

    id: int
    user_id: int | None
    email: str
    display_name: str
    answer: Answer = Answer.NEEDS_ACTION
    group: str = ""  # the directory group he was invited through, if any


@dataclass(frozen=True)
class OccurrenceChange:
    """One occurrence changed or cancelled alone, named by its original start (iCalendar RECURRENCE-ID, UTC)."""

    recurrence_id: datetime
    cancelled: bool = False
    starts_at: datetime | None = None  # None: at its original time
    duration_minutes: int | None = None  # None: the series' duration


@dataclass(frozen=True)
class Occurrence:
    """One time the meeting happens (``recurrence_id``: its original start, for a series; UTC)."""

    recurrence_id: datetime
    starts_at: datetime
    ends_at: datetime
    changed: bool = False


@dataclass(frozen=True)
class Meeting:
    id: int
    uid: str  # the iCalendar UID, the same in every invitation, update and cancellation
    owner_id: int
    conference_id: int
    title: str
    starts_at: datetime  # the first occurrence (aware, UTC)
    duration_minutes: int
    time_zone: str  # IANA: the recurrence is expanded in it (10:00 stays 10:00 across daylight saving)
    recurrence: str | None  # an RRULE (without the "RRULE:" prefix), None: once
    sequence: int  # iCalendar SEQUENCE: raised by every change that is sent
    guests_allowed: bool
    moderated: bool
    pin: str | None
    created_at: datetime
    opened_until: datetime | None = None  # the owner started it early: open until then
    invitees: tuple[Invitee, ...] = ()
    changes: tuple[OccurrenceChange, ...] = ()
    conference_slug: str = ""
    invite_code: str = ""  # the conference's guest link code
    series_end: datetime | None = None  # end of the last occurrence; None: it repeats for good

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def invitee_of(self, user_id: int) -> Invitee | None:
        return next((i for i in self.invitees if i.user_id == user_id), None)

    def change_of(self, recurrence_id: datetime) -> OccurrenceChange | None:
        return next((c for c in self.changes if c.recurrence_id == recurrence_id), None)

    def member_ids(self) -> frozenset[int]:
        return frozenset(i.user_id for i in self.invitees if i.user_id is not None)


def meeting_uid(meeting_id: int, domain: str, token: str) -> str:
    """A UID unique worldwide and stable for the meeting's life (RFC 5545 3.8.4.7)."""
    return f"{token}-{meeting_id}@{domain}"


EARLIEST_YEAR, LATEST_YEAR = 2000, 2200


def check_moment(moment: datetime, what: str) -> datetime:
    """An aware time within the years a meeting may have, in UTC; else :class:`InvalidInput` naming ``what``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(f"{what} needs a UTC offset (e.g. 2027-01-15T10:00:00+01:00).")
    if not EARLIEST_YEAR < moment.year < LATEST_YEAR:
        raise InvalidInput(f"{what} must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}.")
    return moment.astimezone(UTC)


def check_time_zone(name: str) -> str:
    if name == "UTC" or name in _zones():
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise InvalidInput(f"Unknown time zone “{name[:64]}”: give an IANA name such as Europe/Berlin.")


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


def check_email(address: str) -> str:
    address = address.strip()
    if not _EMAIL.fullmatch(address):
        raise InvalidInput(f"“{address[:80]}” is not an e-mail address.")
    return address.lower()


def check_pin(pin: str | None) -> str | None:
    if pin is None or pin == "":
        return None
    if not _PIN.fullmatch(pin):
        raise InvalidInput("The PIN must be 4 to 12 digits.")
    return pin
