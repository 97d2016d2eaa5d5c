"""The call history's pure rules: client kinds, who is known dead, quality figures, hourly usage."""

from __future__ import annotations

from veche.domain.call_history import (
    ClientKind,
    MediaCounters,
    SessionRecord,
    client_kind,
    dead_servers,
    hourly_usage,
    user_id_of,
)

HOUR = 3_600_000
MIN = 60_000


def test_the_client_kind_comes_from_the_participant_kind_and_the_user_agent() -> None:
    chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
    assert client_kind("browser", chrome) is ClientKind.BROWSER
    assert client_kind("browser", "Python/3.13 websockets/14.1") is ClientKind.API
    assert client_kind("browser", "") is ClientKind.API
    assert client_kind("gateway", "") is ClientKind.SIP
    assert client_kind("remote_leg", chrome) is ClientKind.REMOTE_LEG


def test_user_ids_come_from_user_identities_only() -> None:
    assert user_id_of("user:42") == 42
    assert user_id_of("guest:abc") is None
    assert user_id_of("user:") is None


def test_a_server_is_known_dead_after_three_seconds_without_a_heartbeat() -> None:
    heard = {"app-1": 10_000, "app-2": 12_500, "base": 12_900}
    assert dead_servers(["app-1", "app-2"], heard, listening_since_ms=0, now_ms=13_000) == ["app-1"]
    assert dead_servers(["app-1", "app-2"], heard, listening_since_ms=0, now_ms=12_999) == []


def test_a_server_never_heard_is_dead_once_base_has_listened_as_long() -> None:
    heard = {"base": 20_000}
    assert dead_servers(["gone"], heard, listening_since_ms=18_000, now_ms=20_500) == []
    assert dead_servers(["gone"], heard, listening_since_ms=17_000, now_ms=20_500) == ["gone"]


def test_nobody_is_known_dead_while_base_hears_nobody_at_all() -> None:
    assert dead_servers(["app-1"], {"app-1": 0, "base": 0}, listening_since_ms=0, now_ms=60_000) == []


def test_quality_figures_are_averages_over_the_session() -> None:
    media = MediaCounters(bytes_in=1_250_000, bytes_out=2_500_000, packets_in=990, lost_in=10, packets_out=2000)
    assert media.bitrates_bps(10.0) == (1_000_000, 2_000_000)
    assert media.loss() == (0.01, 0.0)
    assert MediaCounters().bitrates_bps(0) == (0, 0)
    assert media + media == MediaCounters(2_500_000, 5_000_000, 1980, 4000, 20, 0)


def test_each_change_of_a_session_has_a_higher_revision_and_a_leave_never_precedes_the_join() -> None:
    record = SessionRecord("s", 1, "c", "user:1", "Ann", False, ClientKind.BROWSER, "", "app-1", 5000, None, revision=1)
    sampled = record.with_media(MediaCounters(bytes_in=5))
    closed = sampled.closed(4000, sampled.media)
    assert (sampled.revision, closed.revision) == (2, 3)
    assert closed.left_at_ms == 5000


def test_hourly_usage_splits_sessions_at_the_hour_and_counts_a_run_in_every_hour_it_ran() -> None:
    sessions = [(50 * MIN, 70 * MIN), (HOUR + 30 * MIN, None)]
    runs = [(50 * MIN, 70 * MIN), (HOUR + 30 * MIN, None), (2 * HOUR, 2 * HOUR)]
    usage = hourly_usage(sessions, runs, 0, 3 * HOUR, now_ms=2 * HOUR + 15 * MIN)
    assert [u.hour_ms for u in usage] == [0, HOUR, 2 * HOUR]
    assert [u.participant_minutes for u in usage] == [10.0, 40.0, 15.0]
    assert [u.conference_runs for u in usage] == [1, 2, 2]


def test_hourly_usage_clips_to_the_range_asked_for() -> None:
    usage = hourly_usage([(0, 3 * HOUR)], [(0, 3 * HOUR)], HOUR + 30 * MIN, 2 * HOUR, now_ms=5 * HOUR)
    assert [(u.hour_ms, u.participant_minutes, u.conference_runs) for u in usage] == [(HOUR, 30.0, 1)]
