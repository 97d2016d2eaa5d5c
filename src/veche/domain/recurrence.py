"""When a meeting happens: its RRULE expanded in the meeting's time zone, with the occurrences cancelled alone
(EXDATE) left out and those moved alone put at their new time. Pure: the window is passed in.

Rules are RFC 5545 RRULEs, limited to what a scheduling form offers (daily, weekly on chosen days, monthly; an
interval; an end by date or count), so that no rule makes thousands of occurrences a day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from veche.domain.errors import InvalidInput
from veche.domain.meetings import Occurrence, OccurrenceChange

__all__ = ["MAX_COUNT", "check_rule", "expand", "is_occurrence", "series_end"]

FREQUENCIES = {"DAILY", "WEEKLY", "MONTHLY"}
PARTS = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYSETPOS", "UNTIL", "COUNT", "WKST"}
MAX_COUNT = 1000
MAX_INTERVAL = 366
MAX_SPAN = timedelta(days=20 * 366)


def check_rule(text: str | None, starts_at: datetime, time_zone: str) -> str | None:
    """The rule in its canonical form (no "RRULE:" prefix, upper case), or :class:`InvalidInput` saying why."""
    if text is None or not text.strip():
        return None
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    body = body.upper()
    parts: dict[str, str] = {}
    for item in body.split(";"):
        key, sep, value = item.partition("=")
        if not sep or not value:
            raise InvalidInput(f"The recurrence “{text[:120]}” is not an RRULE (KEY=VALUE;...).")
        if key not in PARTS:
            raise InvalidInput(f"The recurrence may not use {key[:20]} (allowed: {', '.join(sorted(PARTS))}).")
        parts[key] = value
    if parts.get("FREQ") not in FREQUENCIES:
        raise InvalidInput("The recurrence must be FREQ=DAILY, WEEKLY or MONTHLY.")
    if "COUNT" in parts and "UNTIL" in parts:
        raise InvalidInput("The recurrence ends by COUNT or by UNTIL, not both.")
    if "COUNT" in parts and not (parts["COUNT"].isdigit() and 1 <= int(parts["COUNT"]) <= MAX_COUNT):
        raise InvalidInput(f"COUNT must be between 1 and {MAX_COUNT}.")
    if "INTERVAL" in parts and not (parts["INTERVAL"].isdigit() and 1 <= int(parts["INTERVAL"]) <= MAX_INTERVAL):
        raise InvalidInput(f"INTERVAL must be between 1 and {MAX_INTERVAL}.")
    if "UNTIL" in parts:
        until = parts["UNTIL"]
        if len(until) == 8 and until.isdigit():  # a date: through the end of that day, in the meeting's zone
            try:
                day = datetime.strptime(until, "%Y%m%d").replace(tzinfo=ZoneInfo(time_zone))
                parts["UNTIL"] = (day + timedelta(days=1, seconds=-1)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
            except (ValueError, OverflowError) as e:
                raise InvalidInput(f"UNTIL “{until}” is not a date.") from e
        elif not until.endswith("Z"):
            raise InvalidInput("UNTIL must be a date (20270131) or a UTC time (20270131T170000Z).")
    if "UNTIL" in parts:
        try:
            until_at = datetime.strptime(parts["UNTIL"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError as e:
            raise InvalidInput(f"UNTIL “{parts['UNTIL'][:20]}” is not a date or UTC time.") from e
        if until_at > starts_at + MAX_SPAN:
            raise InvalidInput("A recurrence ends at most 20 years after its start.")
    canonical = ";".join(f"{k}={v}" for k, v in parts.items())
    try:
        _rule(canonical, starts_at, time_zone)
    except (ValueError, TypeError) as e:
        raise InvalidInput(f"The recurrence “{text[:120]}” is not valid: {e}.") from e
    return canonical


def _rule(rule: str, starts_at: datetime, time_zone: str) -> rrule:
    local = starts_at.astimezone(ZoneInfo(time_zone))
    parsed = rrulestr(rule, dtstart=local)
    assert isinstance(parsed, rrule)
    return parsed


def _original_starts(
    starts_at: datetime, time_zone: str, rule: str | None, after: datetime, before: datetime
) -> Iterable[datetime]:
    """Original starts in [after, before] (UTC)."""
    if rule is None:
        if after <= starts_at <= before:
            yield starts_at
        return
    for local in _rule(rule, starts_at, time_zone).between(after, before, inc=True):
        yield local.astimezone(UTC)


def expand(
    *,
    starts_at: datetime,
    duration_minutes: int,
    time_zone: str,
    rule: str | None,
    changes: Iterable[OccurrenceChange] = (),
    window_from: datetime,
    window_to: datetime,
    limit: int = 500,
) -> list[Occurrence]:
    """The occurrences overlapping [window_from, window_to), by start, at most ``limit``."""
    duration = timedelta(minutes=duration_minutes)
    by_id = {c.recurrence_id: c for c in changes}
    found: list[Occurrence] = []
    for original in _original_starts(starts_at, time_zone, rule, window_from - duration, window_to):
        change = by_id.get(original)
        if change is not None and (change.cancelled or change.starts_at is not None):
            continue  # cancelled, or moved: a moved one is placed below at its new time
        length = timedelta(minutes=change.duration_minutes) if change and change.duration_minutes else duration
        if original < window_to and original + length > window_from:
            found.append(Occurrence(original, original, original + length, changed=change is not None))
    for change in by_id.values():
        if change.cancelled or change.starts_at is None:
            continue
        if not is_occurrence(starts_at=starts_at, time_zone=time_zone, rule=rule, recurrence_id=change.recurrence_id):
            continue
        length = timedelta(minutes=change.duration_minutes) if change.duration_minutes else duration
        if change.starts_at < window_to and change.starts_at + length > window_from:
            found.append(Occurrence(change.recurrence_id, change.starts_at, change.starts_at + length, changed=True))
    found.sort(key=lambda o: (o.starts_at, o.recurrence_id))
    return found[:limit]


def is_occurrence(*, starts_at: datetime, time_zone: str, rule: str | None, recurrence_id: datetime) -> bool:
    """Whether the series (as if nothing were changed) has an occurrence starting at ``recurrence_id``."""
    moment = recurrence_id.astimezone(UTC)
    return any(s == moment for s in _original_starts(starts_at, time_zone, rule, moment, moment))


def series_end(
    *, starts_at: datetime, duration_minutes: int, time_zone: str, rule: str | None, changes: Iterable[OccurrenceChange]
) -> datetime | None:
    """The end of the last occurrence (moved ones included); None when the series repeats for good. Stored, so
    that the store finds the meetings of a time range without expanding every series."""
    duration = timedelta(minutes=duration_minutes)
    if rule is None:
        last = starts_at + duration
    else:
        parsed = _rule(rule, starts_at, time_zone)
        if "COUNT=" not in rule and "UNTIL=" not in rule:
            return None
        final = parsed[-1] if parsed.count() else None
        last = (final.astimezone(UTC) if final else starts_at) + duration
    for change in changes:
        if change.starts_at is not None:
            length = timedelta(minutes=change.duration_minutes) if change.duration_minutes else duration
            last = max(last, change.starts_at + length)
    return last
