"""Minute samples from heartbeats and their roll-ups: pure, with time passed in."""

from __future__ import annotations

import random

import pytest

from veche.domain.usage_stats import (
    CLUSTER,
    Granularity,
    LicenseMinutes,
    MinuteAccumulator,
    Rollup,
    ScopeSample,
    ServerBeat,
    point_of,
    region_scope,
    roll_up,
    server_scope,
)

T0 = 1_764_547_200  # 2025-12-01T00:00:00Z, a whole day


def beat(server: str, at: float, *, region: str = "eu", participants: int = 4, refusals: int = 0) -> ServerBeat:
    return ServerBeat(
        server_id=server,
        region=region,
        at_s=at,
        cpu_use=0.5,
        net_in_bps=8000.0,
        net_out_bps=16000.0,
        conferences=2,
        participants=participants,
        refusals=refusals,
    )


def test_a_minute_of_heartbeats_is_one_sample_per_server_region_and_cluster() -> None:
    minutes = MinuteAccumulator()
    for second in range(60):
        minutes.add(beat("a", T0 + second, participants=4 if second < 30 else 6))
        minutes.add(beat("b", T0 + second, region="asia", participants=1))
    for second in range(30):  # "c" came up half way through
        minutes.add(beat("c", T0 + 30 + second))
    assert minutes.finished(T0 + 62) == [], "a minute is finished only after its grace"
    samples = {s.scope: s for s in minutes.finished(T0 + 66)}
    assert set(samples) == {server_scope(x) for x in "abc"} | {region_scope("eu"), region_scope("asia"), CLUSTER}
    a = samples[server_scope("a")]
    assert (a.at_s, a.seconds, a.participants, a.peak_participants) == (T0, 60, 5.0, 6)
    assert samples[server_scope("c")].seconds == 30
    eu = samples[region_scope("eu")]
    assert (eu.servers, eu.participants, eu.conferences, eu.net_out_bps) == (2, 9.0, 4.0, 32000.0)
    assert samples[CLUSTER].servers == 3 and samples[CLUSTER].participants == 10.0


def test_a_heartbeat_for_a_finished_minute_is_dropped_not_counted_twice() -> None:
    minutes = MinuteAccumulator()
    minutes.add(beat("a", T0 + 10))
    assert len(minutes.finished(T0 + 70)) == 3
    minutes.add(beat("a", T0 + 50))  # late
    minutes.add(beat("a", T0 + 61))
    later = minutes.finished(T0 + 200)
    assert [s.at_s for s in later] == [T0 + 60] * 3 and minutes.late == 1


def test_refusals_are_the_counter_growth_and_survive_a_server_restart() -> None:
    minutes = MinuteAccumulator()
    counters = [3, 5, 9, 2, 4]  # the server restarted before the fourth minute
    for n, counter in enumerate(counters):
        minutes.add(beat("a", T0 + 60 * n, refusals=counter))
    refused = [s.refusals for s in minutes.finished(T0 + 600) if s.scope == server_scope("a")]
    assert refused == [0, 2, 4, 2, 2]


def sample(scope: str, at: int, participants: float, *, seconds: int = 60, peak: int = 0) -> ScopeSample:
    return ScopeSample(
        scope=scope,
        at_s=at,
        seconds=seconds,
        servers=1,
        cpu_use=0.25,
        conferences=participants / 2,
        participants=participants,
        peak_participants=peak or int(participants),
        net_in_bps=800.0,
        net_out_bps=0.0,
    )


def test_roll_ups_are_the_same_whatever_the_batches_and_order() -> None:
    rng = random.Random(7)
    samples = [sample(CLUSTER, T0 + 60 * m, rng.randint(0, 40)) for m in range(3 * 1440)]
    whole = {(b.scope, b.at_s): b for b in roll_up(samples, Granularity.HOUR)}
    shuffled = samples[:]
    rng.shuffle(shuffled)
    merged: dict[tuple[str, int], Rollup] = {}
    for start in range(0, len(shuffled), 97):
        for b in roll_up(shuffled[start : start + 97], Granularity.HOUR):
            merged.setdefault((b.scope, b.at_s), Rollup(b.scope, b.at_s)).merge(b)
    assert merged.keys() == whole.keys() and len(whole) == 72
    for key, b in whole.items():
        assert merged[key].samples == b.samples == 60
        assert merged[key].participant_seconds == pytest.approx(b.participant_seconds)
        assert merged[key].peak_participants == b.peak_participants


def test_figures_of_a_bucket_and_a_gap() -> None:
    hour = roll_up([sample(CLUSTER, T0 + 60 * m, 10, peak=12) for m in range(30)], Granularity.HOUR)[0]
    point = point_of(hour, T0, Granularity.HOUR.seconds)
    assert point.coverage == 0.5  # half the hour had data: a server down the other half is not "zero people"
    assert point.conference_hours == 5.0  # 10 people × 30 minutes
    assert point.participants_avg == 10.0 and point.conferences_avg == 5.0
    assert point.participants_per_conference == 2.0 and point.peak_participants == 12
    assert point.cpu_percent == 25.0 and point.traffic_in_bytes == 800 * 1800 // 8
    gap = point_of(None, T0 + 3600, 3600)
    assert gap.coverage is None and gap.conference_hours is None and gap.peak_participants is None


def test_failovers_count_for_the_cluster_even_in_a_minute_no_server_reported() -> None:
    minutes = MinuteAccumulator()
    minutes.add(beat("a", T0 + 5))
    minutes.moved(T0 + 20)
    minutes.moved(T0 + 30)
    minutes.moved(T0 + 70)  # a minute in which no app server was heard at all
    samples = minutes.finished(T0 + 200)
    assert [(s.scope, s.at_s, s.failovers) for s in samples if s.failovers] == [(CLUSTER, T0, 2), (CLUSTER, T0 + 60, 1)]
    assert all(s.failovers == 0 for s in samples if s.scope != CLUSTER)
    lone = roll_up([s for s in samples if s.at_s == T0 + 60], Granularity.HOUR)[0]
    point = point_of(lone, T0 + 60, 3600)
    assert point.failovers == 1 and point.conference_hours is None, "a failover is shown; the figures are a gap"


def test_license_use_is_one_sample_per_pool_and_minute() -> None:
    pools = LicenseMinutes()
    for second, used in ((0, 3), (20, 7), (40, 5)):
        pools.add(T0 + second, {"video": used, "guests": 1})
    pools.add(T0 + 61, {"video": 2})
    first = pools.finished(T0 + 70)
    assert [(s.scope, s.participants, s.peak_participants, s.seconds) for s in first] == [
        ("license:guests", 1.0, 1, 60),
        ("license:video", 5.0, 7, 60),
    ]
    pools.add(T0 + 30, {"video": 99})  # late for a finished minute: dropped
    assert [(s.at_s, s.peak_participants) for s in pools.finished(T0 + 200)] == [(T0 + 60, 2)]
