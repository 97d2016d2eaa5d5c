"""Usage statistics for administrators: the series of each figure for the cluster, a region or a server.

The figures come from the roll-ups the manager keeps as samples arrive (:mod:`veche.storage.usage_stats`); this
endpoint only reads the buckets of the range and fills the missing ones as gaps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from veche.domain.errors import InvalidInput
from veche.domain.license_pools import Pool
from veche.domain.model import User
from veche.domain.usage_stats import (
    CLUSTER,
    Granularity,
    Rollup,
    StatPoint,
    bucket_start,
    license_scope,
    point_of,
    region_scope,
    server_scope,
)
from veche.web.security import require_admin

router = APIRouter(tags=["statistics"])

MAX_BUCKETS = 10_000  # a year by hour is 8,784; ten years by day 3,653
SCOPE_TEXT_MAX = 64


class StatPointOut(BaseModel):
    at: datetime
    coverage: float | None
    conference_hours: float | None
    conferences_avg: float | None
    participants_avg: float | None
    participants_per_conference: float | None
    peak_participants: int | None
    cpu_percent: float | None
    traffic_in_bytes: int | None
    traffic_out_bytes: int | None
    refusals: int | None
    failovers: int | None  # the cluster's only: conferences moved off a failed app server
    # From the call history (the cluster and a server; None for a region): the time participants spent in
    # conferences by sessions that had ended, in hours, and the sessions that joined in the bucket.
    logged_participant_hours: float | None = None
    logged_sessions: int | None = None
    # The cluster's only: the most connections in use of each license pool in the bucket.
    license_online_users_peak: int | None = None
    license_video_peak: int | None = None
    license_gateway_peak: int | None = None
    license_guests_peak: int | None = None


class StatisticsOut(BaseModel):
    from_: datetime = Field(serialization_alias="from")  # the start of the first bucket
    to: datetime
    by: Literal["hour", "day"]
    scope: str  # "cluster", "region:NAME" or "server:ID"
    points: list[StatPointOut]
    totals: StatPointOut  # the whole range as one bucket


def _instant(name: str, text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"`{name}` must be a date or time in ISO 8601, such as 2026-12-01 or 2026-12-01T09:00Z."
        ) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@router.get(
    "/statistics",
    response_model=StatisticsOut,
    summary="Usage of the cluster, a region or a server by hour or by day: conference time, conferences, "
    "participants, CPU, traffic, peaks, refusals (admins)",
)
async def get_statistics(
    request: Request,
    from_: Annotated[str, Query(alias="from", max_length=40, description="Start, ISO 8601 (UTC if no offset)")],
    to: Annotated[str, Query(max_length=40, description="End (exclusive), ISO 8601")],
    by: Annotated[Literal["hour", "day"], Query(description="Bucket size")] = "hour",
    server: Annotated[str | None, Query(max_length=SCOPE_TEXT_MAX, description="One server's id")] = None,
    region: Annotated[str | None, Query(max_length=SCOPE_TEXT_MAX, description="One region's name")] = None,
    _admin: User = Depends(require_admin),
) -> StatisticsOut:
    granularity = Granularity(by)
    start, end = _instant("from", from_), _instant("to", to)
    if end <= start:
        raise InvalidInput("`to` must be after `from`.")
    if server is not None and region is not None:
        raise InvalidInput("Give `server` or `region`, not both.")
    scope = server_scope(server) if server is not None else region_scope(region) if region is not None else CLUSTER
    step = granularity.seconds
    first = bucket_start(int(start.timestamp()), granularity)
    last = int(end.timestamp())
    if (last - first) // step > MAX_BUCKETS:
        raise InvalidInput(f"The range holds more than {MAX_BUCKETS:,} buckets: choose a shorter range or by=day.")
    store = request.app.state.container.get_usage_stats()
    stored = await store.rollups(scope, granularity, first, last)
    by_start = {b.at_s: b for b in stored}
    points = [_out(point_of(by_start.get(at), at, step)) for at in range(first, last, step)]
    totals = _out(_total(stored, first, last))
    if region is None:
        logged = await store.call_rollups(scope, granularity, first, last)
        for point, at in zip(points, range(first, last, step), strict=True):
            point.logged_participant_hours, point.logged_sessions = _logged(logged.get(at, (0, 0)))
        totals.logged_participant_hours, totals.logged_sessions = _logged(
            (sum(ms for ms, _ in logged.values()), sum(n for _, n in logged.values()))
        )
    if scope == CLUSTER:
        for pool in Pool:
            field = f"license_{pool.value}_peak"
            buckets = await store.rollups(license_scope(pool.value), granularity, first, last)
            peaks = {b.at_s: b.peak_participants for b in buckets if b.seconds}
            for point, at in zip(points, range(first, last, step), strict=True):
                setattr(point, field, peaks.get(at))
            setattr(totals, field, max(peaks.values()) if peaks else None)
    return StatisticsOut(
        from_=datetime.fromtimestamp(first, UTC),
        to=end,
        by=by,
        scope=scope,
        points=points,
        totals=totals,
    )


def _logged(bucket: tuple[int, int]) -> tuple[float, int]:
    participant_ms, sessions = bucket
    return round(participant_ms / 3_600_000, 3), sessions


def _total(stored: list[Rollup], first: int, last: int) -> StatPoint:
    whole = Rollup(scope="", at_s=first)
    for bucket in stored:
        whole.merge(bucket)
    return point_of(whole, first, last - first)


def _out(p: StatPoint) -> StatPointOut:
    return StatPointOut(
        at=p.at,
        coverage=p.coverage,
        conference_hours=p.conference_hours,
        conferences_avg=p.conferences_avg,
        participants_avg=p.participants_avg,
        participants_per_conference=p.participants_per_conference,
        peak_participants=p.peak_participants,
        cpu_percent=p.cpu_percent,
        traffic_in_bytes=p.traffic_in_bytes,
        traffic_out_bytes=p.traffic_out_bytes,
        refusals=p.refusals,
        failovers=p.failovers,
    )
