"""What a call-history session adds to the Statistics roll-ups: literal cases."""

from __future__ import annotations

from veche.domain.call_usage import CallUsage, SessionSpan, call_usage_delta
from veche.domain.usage_stats import CLUSTER, Granularity

H = 3_600_000
DAY = 24 * H
T0 = 1_780_000_000 // 86_400 * 86_400 * 1000  # a UTC midnight, in ms


def hours(changes: list[CallUsage], scope: str = CLUSTER) -> dict[int, tuple[int, int]]:
    return {
        (c.at_s * 1000 - T0) // H: (c.participant_ms, c.sessions)
        for c in changes
        if c.by is Granularity.HOUR and c.scope == scope
    }


def days(changes: list[CallUsage]) -> dict[int, tuple[int, int]]:
    return {
        (c.at_s * 1000 - T0) // DAY: (c.participant_ms, c.sessions)
        for c in changes
        if c.by is Granularity.DAY and c.scope == CLUSTER
    }


def test_a_session_within_an_hour_adds_its_time_and_one_session_to_the_cluster_and_its_server() -> None:
    changes = call_usage_delta([(None, SessionSpan("app-1", T0 + 10 * 60_000, T0 + 40 * 60_000))])
    assert hours(changes) == {0: (30 * 60_000, 1)}
    assert hours(changes, "server:app-1") == {0: (30 * 60_000, 1)}
    assert days(changes) == {0: (30 * 60_000, 1)}


def test_a_session_over_midnight_is_split_and_counted_where_it_joined() -> None:
    joined = T0 + DAY - 30 * 60_000  # 23:30
    changes = call_usage_delta([(None, SessionSpan("app-1", joined, joined + 2 * H))])  # until 01:30
    assert hours(changes) == {23: (30 * 60_000, 1), 24: (H, 0), 25: (30 * 60_000, 0)}
    assert days(changes) == {0: (30 * 60_000, 1), 1: (90 * 60_000, 0)}


def test_an_open_session_adds_nothing_until_it_ends() -> None:
    assert call_usage_delta([(None, SessionSpan("app-1", T0, None))]) == []
    closed = call_usage_delta([(SessionSpan("app-1", T0, None), SessionSpan("app-1", T0, T0 + H))])
    assert hours(closed) == {0: (H, 1)}


def test_a_changed_end_adds_only_the_difference_and_the_same_span_adds_nothing() -> None:
    before = SessionSpan("app-1", T0, T0 + H)
    later = SessionSpan("app-1", T0, T0 + 2 * H)
    assert hours(call_usage_delta([(before, later)])) == {1: (H, 0)}
    assert call_usage_delta([(before, before)]) == []


def test_a_session_that_ends_as_it_joins_still_counts_as_one_session() -> None:
    assert hours(call_usage_delta([(None, SessionSpan("app-1", T0 + 5, T0 + 5))])) == {0: (0, 1)}
