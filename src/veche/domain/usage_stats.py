"""Usage statistics of the cluster: minute samples from heartbeats, rolled up by hour and by day. Pure; time passed in.

A server's heartbeats of one minute become one :class:`ScopeSample` for that server; the samples of every server for
that minute also give one sample for its region and one for the whole cluster. Roll-ups keep *sums* (seconds covered,
participant-seconds, conference-seconds, bytes, CPU), so adding samples in any order and in any batches gives the same
buckets, and every average is a ratio of two sums. A bucket with no sample is a gap (``None`` figures), never zeros.

Buckets are UTC hours and UTC days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

__all__ = [
    "CLUSTER",
    "Granularity",
    "LicenseMinutes",
    "MinuteAccumulator",
    "Rollup",
    "ScopeSample",
    "ServerBeat",
    "StatPoint",
    "bucket_start",
    "combine",
    "license_scope",
    "point_of",
    "region_scope",
    "roll_up",
    "server_scope",
]

MINUTE_S = 60
CLUSTER = "cluster"


def server_scope(server_id: str) -> str:
    return f"server:{server_id}"


def region_scope(region: str) -> str:
    return f"region:{region}"


class Granularity(StrEnum):
    HOUR = "hour"
    DAY = "day"

    @property
    def seconds(self) -> int:
        return 3600 if self is Granularity.HOUR else 86400


def bucket_start(at_s: int, by: Granularity) -> int:
    """The UTC hour or day (as epoch seconds) that ``at_s`` falls in."""
    return at_s - at_s % by.seconds


@dataclass(frozen=True)
class ServerBeat:
    """What a heartbeat says that statistics need."""

    server_id: str
    region: str
    at_s: float
    cpu_use: float  # 0..1 of all the server's cores
    net_in_bps: float
    net_out_bps: float
    conferences: int
    participants: int
    refusals: int = 0  # connections refused for want of license slots since the server started (a counter)


@dataclass(frozen=True)
class ScopeSample:
    """One scope (a server, a region, the cluster) over one sample period starting at ``at_s``.

    ``seconds`` is how much of the period had data (a server heard for half a minute covers 30 s); the other figures
    are means over it, except ``peak_participants``.
    """

    scope: str
    at_s: int
    seconds: int
    servers: int
    cpu_use: float
    conferences: float
    participants: float
    peak_participants: int
    net_in_bps: float
    net_out_bps: float
    refusals: int = 0
    failovers: int = 0  # conferences moved off a failed server (counted for the cluster only)


@dataclass
class _Minute:
    region: str
    beats: int = 0
    cpu: float = 0.0
    net_in: float = 0.0
    net_out: float = 0.0
    conferences: float = 0.0
    participants: float = 0.0
    peak: int = 0
    refusals: int = 0  # the counter's highest value in the minute


class MinuteAccumulator:
    """Heartbeats in, finished minute samples out (per server, per region, for the cluster).

    A minute is finished once ``grace_s`` has passed after its end; a heartbeat that arrives for a finished minute is
    dropped (counted in :attr:`late`), so no minute is ever emitted twice by one accumulator.
    """

    def __init__(self, *, heartbeat_interval_s: float = 1.0, grace_s: float = 5.0) -> None:
        self._interval = heartbeat_interval_s
        self._grace = grace_s
        self._open: dict[int, dict[str, _Minute]] = {}
        self._closed_before = 0  # minutes below this were emitted
        self._refusals: dict[str, int] = {}  # each server's refusal counter at the end of its last minute
        self._failovers: dict[int, int] = {}  # minute -> conferences moved off a failed server
        self.late = 0

    def add(self, beat: ServerBeat) -> None:
        minute = int(beat.at_s) - int(beat.at_s) % MINUTE_S
        if minute < self._closed_before:
            self.late += 1
            return
        servers = self._open.setdefault(minute, {})
        m = servers.get(beat.server_id)
        if m is None:
            m = servers[beat.server_id] = _Minute(region=beat.region)
        m.region = beat.region
        m.beats += 1
        m.cpu += beat.cpu_use
        m.net_in += beat.net_in_bps
        m.net_out += beat.net_out_bps
        m.conferences += beat.conferences
        m.participants += beat.participants
        m.peak = max(m.peak, beat.participants)
        m.refusals = max(m.refusals, beat.refusals)

    def moved(self, at_s: float) -> None:
        """A conference moved off a failed server (heard at ``at_s``): a failover of the cluster's minute."""
        minute = int(at_s) - int(at_s) % MINUTE_S
        if minute < self._closed_before:
            self.late += 1
            return
        self._failovers[minute] = self._failovers.get(minute, 0) + 1
        self._open.setdefault(minute, {})

    def finished(self, now_s: float) -> list[ScopeSample]:
        """The samples of every minute that ended at least ``grace_s`` ago, oldest first."""
        out: list[ScopeSample] = []
        for minute in sorted(self._open):
            if minute + MINUTE_S + self._grace > now_s:
                break
            out.extend(self._samples(minute, self._open.pop(minute), self._failovers.pop(minute, 0)))
            self._closed_before = minute + MINUTE_S
        return out

    def _refused(self, server_id: str, counter: int) -> int:
        """Refusals in the minute: the counter's growth, or all of it after the server restarted (it went down)."""
        before = self._refusals.get(server_id, counter)
        self._refusals[server_id] = counter
        return counter - before if counter >= before else counter

    def _samples(self, minute: int, servers: dict[str, _Minute], failovers: int) -> list[ScopeSample]:
        if not servers:  # every app server silent that minute, yet conferences moved: the failovers alone
            return [replace(_EMPTY, scope=CLUSTER, at_s=minute, failovers=failovers)] if failovers else []
        per_server = [
            ScopeSample(
                scope=server_scope(server_id),
                at_s=minute,
                seconds=min(MINUTE_S, round(m.beats * self._interval)),
                servers=1,
                cpu_use=m.cpu / m.beats,
                conferences=m.conferences / m.beats,
                participants=m.participants / m.beats,
                peak_participants=m.peak,
                net_in_bps=m.net_in / m.beats,
                net_out_bps=m.net_out / m.beats,
                refusals=self._refused(server_id, m.refusals),
            )
            for server_id, m in sorted(servers.items())
        ]
        regions: dict[str, list[ScopeSample]] = {}
        for sample, m in zip(per_server, (servers[k] for k in sorted(servers)), strict=True):
            regions.setdefault(m.region, []).append(sample)
        groups = [(region_scope(region), samples) for region, samples in sorted(regions.items())]
        combined = [combine(scope, minute, samples) for scope, samples in groups]
        cluster = replace(combine(CLUSTER, minute, per_server), failovers=failovers)
        return per_server + combined + [cluster]


_EMPTY = ScopeSample(
    scope="",
    at_s=0,
    seconds=0,
    servers=0,
    cpu_use=0.0,
    conferences=0.0,
    participants=0.0,
    peak_participants=0,
    net_in_bps=0.0,
    net_out_bps=0.0,
)


class LicenseMinutes:
    """The license pools' use, sampled every few seconds, as one sample per pool and minute (scope
    ``license:POOL``): ``participants`` is the mean of connections in use, ``peak_participants`` the most."""

    def __init__(self, *, grace_s: float = 5.0) -> None:
        self._grace = grace_s
        self._open: dict[int, dict[str, list[int]]] = {}  # minute -> pool -> readings
        self._closed_before = 0

    def add(self, at_s: float, in_use: dict[str, int]) -> None:
        minute = int(at_s) - int(at_s) % MINUTE_S
        if minute < self._closed_before:
            return
        pools = self._open.setdefault(minute, {})
        for pool, used in in_use.items():
            pools.setdefault(pool, []).append(used)

    def finished(self, now_s: float) -> list[ScopeSample]:
        out: list[ScopeSample] = []
        for minute in sorted(self._open):
            if minute + MINUTE_S + self._grace > now_s:
                break
            for pool, readings in sorted(self._open.pop(minute).items()):
                out.append(
                    replace(
                        _EMPTY,
                        scope=license_scope(pool),
                        at_s=minute,
                        seconds=MINUTE_S,
                        participants=sum(readings) / len(readings),
                        peak_participants=max(readings),
                    )
                )
            self._closed_before = minute + MINUTE_S
        return out


def license_scope(pool: str) -> str:
    return f"license:{pool}"


def combine(scope: str, at_s: int, samples: list[ScopeSample]) -> ScopeSample:
    """Several servers' samples of one period as one: counts add up, CPU is the servers' mean.

    The peak is the sum of the servers' peaks within the period (an upper bound of the concurrent peak, exact when
    the period is one minute and load moves slowly).
    """
    return ScopeSample(
        scope=scope,
        at_s=at_s,
        seconds=max(s.seconds for s in samples),
        servers=len(samples),
        cpu_use=sum(s.cpu_use for s in samples) / len(samples),
        conferences=sum(s.conferences for s in samples),
        participants=sum(s.participants for s in samples),
        peak_participants=sum(s.peak_participants for s in samples),
        net_in_bps=sum(s.net_in_bps for s in samples),
        net_out_bps=sum(s.net_out_bps for s in samples),
        refusals=sum(s.refusals for s in samples),
    )


@dataclass
class Rollup:
    """The sums of one scope's samples in one bucket."""

    scope: str
    at_s: int
    samples: int = 0
    seconds: int = 0
    cpu_seconds: float = 0.0  # Σ cpu_use × seconds
    conference_seconds: float = 0.0  # Σ conferences × seconds
    participant_seconds: float = 0.0  # Σ participants × seconds: the time people spent in conferences
    peak_participants: int = 0
    bytes_in: float = 0.0
    bytes_out: float = 0.0
    refusals: int = 0
    failovers: int = 0

    def add(self, s: ScopeSample) -> None:
        self.samples += 1
        self.seconds += s.seconds
        self.cpu_seconds += s.cpu_use * s.seconds
        self.conference_seconds += s.conferences * s.seconds
        self.participant_seconds += s.participants * s.seconds
        self.peak_participants = max(self.peak_participants, s.peak_participants)
        self.bytes_in += s.net_in_bps * s.seconds / 8
        self.bytes_out += s.net_out_bps * s.seconds / 8
        self.refusals += s.refusals
        self.failovers += s.failovers

    def merge(self, other: Rollup) -> None:
        """Add another bucket's sums (a range's totals from its buckets)."""
        self.samples += other.samples
        self.seconds += other.seconds
        self.cpu_seconds += other.cpu_seconds
        self.conference_seconds += other.conference_seconds
        self.participant_seconds += other.participant_seconds
        self.peak_participants = max(self.peak_participants, other.peak_participants)
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.refusals += other.refusals
        self.failovers += other.failovers


def roll_up(samples: Iterable[ScopeSample], by: Granularity) -> list[Rollup]:
    """The buckets the samples add to (to be added to what is stored)."""
    buckets: dict[tuple[str, int], Rollup] = {}
    for s in samples:
        key = (s.scope, bucket_start(s.at_s, by))
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = Rollup(scope=key[0], at_s=key[1])
        bucket.add(s)
    return list(buckets.values())


@dataclass(frozen=True)
class StatPoint:
    """The figures of one bucket, as the API and the page show them; ``None`` where the bucket had no data.

    Rounding (documented in docs/operations.md): hours of conference time and averages to 3 decimals, CPU in percent to
    1 decimal, bytes to whole bytes.
    """

    at: datetime
    coverage: float | None  # share of the bucket with data, 0..1
    conference_hours: float | None  # time people spent in conferences
    conferences_avg: float | None  # mean number of running conferences
    participants_avg: float | None  # mean number of people in conferences
    participants_per_conference: float | None
    peak_participants: int | None
    cpu_percent: float | None  # mean CPU load, percent of all cores
    traffic_in_bytes: int | None
    traffic_out_bytes: int | None
    refusals: int | None
    failovers: int | None


def point_of(bucket: Rollup | None, at_s: int, span_s: int) -> StatPoint:
    """The figures of a bucket of ``span_s`` seconds starting at ``at_s`` (``None`` or empty: a gap)."""
    at = datetime.fromtimestamp(at_s, UTC)
    if bucket is None or bucket.seconds <= 0:
        if bucket is not None and bucket.failovers:  # no server reported, yet conferences moved
            return StatPoint(at, None, None, None, None, None, None, None, None, None, None, bucket.failovers)
        return StatPoint(at, None, None, None, None, None, None, None, None, None, None, None)
    seconds = bucket.seconds
    return StatPoint(
        at=at,
        coverage=round(min(1.0, seconds / span_s), 3),
        conference_hours=round(bucket.participant_seconds / 3600, 3),
        conferences_avg=round(bucket.conference_seconds / seconds, 3),
        participants_avg=round(bucket.participant_seconds / seconds, 3),
        participants_per_conference=(
            round(bucket.participant_seconds / bucket.conference_seconds, 3) if bucket.conference_seconds else None
        ),
        peak_participants=bucket.peak_participants,
        cpu_percent=round(100 * bucket.cpu_seconds / seconds, 1),
        traffic_in_bytes=round(bucket.bytes_in),
        traffic_out_bytes=round(bucket.bytes_out),
        refusals=bucket.refusals,
        failovers=bucket.failovers,
    )
