"""Recurrence expansion: weekly on chosen days, daily and monthly, with exceptions, moved occurrences and an end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from veche.domain.errors import InvalidInput
from veche.domain.meetings import OccurrenceChange
from veche.domain.recurrence import check_rule, expand, is_occurrence, series_end

BERLIN = "Europe/Berlin"
# Monday 2027-03-22 10:00 in Berlin (CET, +01:00); Berlin switches to CEST on 2027-03-28.
START = datetime(2027, 3, 22, 9, 0, tzinfo=UTC)


def _starts(rule: str | None, days: int = 28, changes: tuple[OccurrenceChange, ...] = ()) -> list[datetime]:
    found = expand(
        starts_at=START,
        duration_minutes=60,
        time_zone=BERLIN,
        rule=rule,
        changes=changes,
        window_from=START,
        window_to=START + timedelta(days=days),
    )
    return [o.starts_at for o in found]


def test_weekly_on_chosen_days_keeps_the_local_time_across_daylight_saving() -> None:
    starts = _starts("FREQ=WEEKLY;BYDAY=MO,WE", days=13)
    assert [s.isoformat() for s in starts] == [
        "2027-03-22T09:00:00+00:00",  # Mon 10:00 CET
        "2027-03-24T09:00:00+00:00",  # Wed 10:00 CET
        "2027-03-29T08:00:00+00:00",  # Mon 10:00 CEST: still 10:00 in Berlin
        "2027-03-31T08:00:00+00:00",
    ]


def test_daily_with_a_count_ends() -> None:
    assert len(_starts("FREQ=DAILY;COUNT=3", days=30)) == 3


def test_monthly_on_the_same_day() -> None:
    starts = _starts("FREQ=MONTHLY", days=100)
    assert [s.astimezone(UTC).day for s in starts] == [22, 22, 22, 22]


def test_until_a_date_includes_that_day_in_the_meetings_zone() -> None:
    rule = check_rule("RRULE:FREQ=WEEKLY;UNTIL=20270405", START, BERLIN)
    assert rule is not None and rule.endswith("UNTIL=20270405T215959Z")
    assert len(_starts(rule, days=60)) == 3  # 22 Mar, 29 Mar, 5 Apr


def test_an_exception_is_left_out_and_a_moved_occurrence_is_at_its_new_time() -> None:
    second = START + timedelta(days=7) - timedelta(hours=1)  # 29 Mar 10:00 CEST
    third = START + timedelta(days=14) - timedelta(hours=1)
    moved_to = third + timedelta(hours=3)
    changes = (
        OccurrenceChange(recurrence_id=second, cancelled=True),
        OccurrenceChange(recurrence_id=third, starts_at=moved_to, duration_minutes=30),
    )
    found = expand(
        starts_at=START,
        duration_minutes=60,
        time_zone=BERLIN,
        rule="FREQ=WEEKLY",
        changes=changes,
        window_from=START,
        window_to=START + timedelta(days=20),
    )
    assert [(o.starts_at, o.ends_at - o.starts_at, o.recurrence_id) for o in found] == [
        (START, timedelta(hours=1), START),
        (moved_to, timedelta(minutes=30), third),
    ]


def test_a_window_sees_an_occurrence_that_is_running() -> None:
    found = expand(
        starts_at=START,
        duration_minutes=60,
        time_zone=BERLIN,
        rule=None,
        window_from=START + timedelta(minutes=30),
        window_to=START + timedelta(minutes=31),
    )
    assert [o.starts_at for o in found] == [START]


def test_is_occurrence() -> None:
    assert is_occurrence(starts_at=START, time_zone=BERLIN, rule="FREQ=DAILY", recurrence_id=START + timedelta(days=2))
    assert not is_occurrence(
        starts_at=START, time_zone=BERLIN, rule="FREQ=DAILY", recurrence_id=START + timedelta(hours=5)
    )


def test_series_end() -> None:
    assert series_end(
        starts_at=START, duration_minutes=60, time_zone=BERLIN, rule=None, changes=()
    ) == START + timedelta(hours=1)
    assert series_end(starts_at=START, duration_minutes=60, time_zone=BERLIN, rule="FREQ=WEEKLY", changes=()) is None
    end = series_end(starts_at=START, duration_minutes=60, time_zone=BERLIN, rule="FREQ=DAILY;COUNT=2", changes=())
    assert end == START + timedelta(days=1, hours=1)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=HOURLY", "DAILY, WEEKLY or MONTHLY"),
        ("FREQ=WEEKLY;BYHOUR=3", "may not use BYHOUR"),
        ("FREQ=DAILY;COUNT=5000", "COUNT must be between"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20270101", "not both"),
        ("weekly please", "not an RRULE"),
        ("FREQ=WEEKLY;BYDAY=XX", "not valid"),
        ("FREQ=DAILY;UNTIL=99991231", "at most 20 years"),
        ("FREQ=DAILY;UNTIL=20271399", "not a date"),
    ],
)
def test_bad_rules_are_refused_saying_why(rule: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_rule(rule, START, BERLIN)
