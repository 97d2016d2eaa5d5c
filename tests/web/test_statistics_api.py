"""GET /api/v1/statistics over 20 servers × 90 days in PostgreSQL, checked against plain SQL over the raw samples."""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from fastapi.testclient import TestClient

from veche.config.settings import load_settings
from veche.container import ALL_ROLES
from veche.domain.call_history import ClientKind, SessionRecord
from veche.domain.usage_stats import CLUSTER, ScopeSample, combine, region_scope, server_scope
from veche.web.app import create_app

from .conftest import ADMIN_PASSWORD, Api, FakeEngineContainer, _create_admin

DAYS = 90
PERIOD_S = 1800  # the generated samples cover half an hour each (the manager writes minutes; the sums are the same)
START = datetime(2026, 9, 1, tzinfo=UTC)
REGIONS = ["eu", "asia", "us", "ru"]
SERVERS = [(f"srv-{n:02d}", REGIONS[n % 4]) for n in range(20)]
# Each server's outages: whole hours with no sample at all (a gap, not zeros).
OUTAGES = {f"srv-{n:02d}": range(n * 100, n * 100 + 7) for n in range(0, 20, 3)}


def generate(rng: random.Random) -> list[list[ScopeSample]]:
    """One batch per day: every server's samples, and their regions' and the cluster's."""
    days: list[list[ScopeSample]] = []
    start = int(START.timestamp())
    for day in range(DAYS):
        batch: list[ScopeSample] = []
        for period in range(86_400 // PERIOD_S):
            at = start + day * 86_400 + period * PERIOD_S
            hour_index = (at - start) // 3600
            servers = []
            for server_id, region in SERVERS:
                if hour_index in OUTAGES.get(server_id, ()):
                    continue
                conferences = rng.randint(0, 12)
                participants = conferences * rng.uniform(1.0, 9.0)
                servers.append(
                    (
                        region,
                        ScopeSample(
                            scope=server_scope(server_id),
                            at_s=at,
                            seconds=PERIOD_S,
                            servers=1,
                            cpu_use=rng.random(),
                            conferences=conferences,
                            participants=participants,
                            peak_participants=int(participants) + rng.randint(0, 5),
                            net_in_bps=rng.uniform(0, 5e7),
                            net_out_bps=rng.uniform(0, 9e7),
                            refusals=rng.choice([0, 0, 0, 1, 3]),
                        ),
                    )
                )
            batch.extend(s for _, s in servers)
            for region in REGIONS:
                mine = [s for r, s in servers if r == region]
                if mine:
                    batch.append(combine(region_scope(region), at, mine))
            batch.append(combine(CLUSTER, at, [s for _, s in servers]))
        days.append(batch)
    return days


def generate_logs(rng: random.Random) -> dict[str, list[list[SessionRecord]]]:
    """The conference logs of the same 90 days: per server, batches of ten days' participant sessions (as its
    app server sends them), some crossing hours and midnight, some left open (the server then dies)."""
    start_ms = int(START.timestamp() * 1000)
    logs: dict[str, list[list[SessionRecord]]] = {}
    for server_id, _ in SERVERS:
        batches: list[list[SessionRecord]] = []
        for first_day in range(0, DAYS, 10):
            batch = []
            for day in range(first_day, first_day + 10):
                for n in range(rng.randint(2, 6)):
                    joined = start_ms + day * 86_400_000 + rng.randint(0, 86_400_000 - 1)
                    length = rng.choice([rng.randint(1_000, 600_000), rng.randint(600_000, 4 * 3_600_000)])
                    batch.append(
                        SessionRecord(
                            session_id=f"{server_id}-{day}-{n}",
                            conference_id=1 + rng.randint(0, 30),
                            conference_name="Weekly",
                            identity=f"user:{rng.randint(1, 200)}",
                            display_name="Someone",
                            guest=False,
                            kind=ClientKind.BROWSER,
                            user_agent="test",
                            server_id=server_id,
                            joined_at_ms=joined,
                            left_at_ms=None if rng.random() < 0.02 else joined + length,
                            revision=1,
                        )
                    )
            batches.append(batch)
        logs[server_id] = batches
    return logs


def _ms_of(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class Loaded:
    api: Api
    plain_url: str


@pytest.fixture(scope="module")
def loaded(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    name = f"t_{secrets.token_hex(6)}"
    plain = postgres_url.replace("postgresql+asyncpg://", "postgresql://")

    async def create() -> None:
        conn = await asyncpg.connect(plain)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    # The raw samples are the reference: the manager's retention (14 days by default) must not prune them.
    settings = load_settings(
        None, data_dir=tmp_path_factory.mktemp("stats"), database={"url": url}, statistics={"samples_days": 3650}
    )
    container = FakeEngineContainer(settings, ALL_ROLES)
    with TestClient(create_app(container)) as client:
        client.portal.call(_create_admin, container)  # type: ignore[union-attr]
        token = client.post("/api/v1/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD})
        api = Api(client=client, container=container, admin_token=token.json()["token"])
        store = container.get_usage_stats()
        for batch in generate(random.Random(2026)):
            client.portal.call(store.add, batch)  # type: ignore[union-attr]
        # A day written again (a manager that restarted and sent what it had kept) adds nothing.
        again = generate(random.Random(2026))[40]
        assert client.portal.call(store.add, again) == 0  # type: ignore[union-attr]
        # The call history, through the store's own write path (what base does with an app server's batches).
        history = container.get_call_history()
        logs = generate_logs(random.Random(11))
        for server_id, batches in logs.items():
            for batch in batches:
                client.portal.call(history.record, server_id, "inc-1", _ms_of(START), batch)  # type: ignore[union-attr]
        # Sent again (the acknowledgement was lost): nothing changes. A newer revision of one session moves its end.
        client.portal.call(history.record, "srv-04", "inc-1", _ms_of(START), logs["srv-04"][2])  # type: ignore[union-attr]
        moved = logs["srv-05"][3][0]
        later = moved.closed((moved.left_at_ms or moved.joined_at_ms) + 5_400_000, moved.media)
        client.portal.call(history.record, "srv-05", "inc-1", _ms_of(START), [later])  # type: ignore[union-attr]
        # Every server dies at the end: its sessions still open are closed then.
        end_ms = _ms_of(START + timedelta(days=DAYS))
        for server_id, _ in SERVERS:
            client.portal.call(history.close_open_sessions, server_id, end_ms, "server_down")  # type: ignore[union-attr]
        yield Loaded(api, plain.rsplit("/", 1)[0] + f"/{name}")


def reference(loaded: Loaded, *, by: str, start: datetime, end: datetime, servers: list[str]) -> dict[int, dict]:
    """The figures of each bucket computed in SQL straight from the servers' raw samples."""
    step = 3600 if by == "hour" else 86_400
    query = """
        SELECT at - at % $1 AS bucket,
               SUM(participants * seconds) / 3600.0 AS conference_hours,
               SUM(participants * seconds) / NULLIF(SUM(conferences * seconds), 0) AS per_conference,
               SUM(refusals) AS refusals,
               SUM(net_out_bps * seconds / 8) AS traffic_out
        FROM usage_samples
        WHERE scope = ANY($2::text[]) AND at >= $3 AND at < $4
        GROUP BY bucket
    """

    async def run() -> list[Any]:
        conn = await asyncpg.connect(loaded.plain_url)
        try:
            scopes = [server_scope(s) for s in servers]
            return list(await conn.fetch(query, step, scopes, int(start.timestamp()), int(end.timestamp())))
        finally:
            await conn.close()

    return {int(r["bucket"]): dict(r) for r in asyncio.run(run())}


def statistics(loaded: Loaded, **params: str) -> dict[str, Any]:
    answer = loaded.api.call("GET", "/statistics", loaded.api.admin_token, params=params)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.mark.parametrize(
    ("by", "start", "days", "scope"),
    [
        ("day", START, 90, {}),  # a quarter by day, the whole cluster
        ("hour", START + timedelta(days=20), 7, {"server": "srv-06"}),  # a week by hour of a server with an outage
        ("day", START + timedelta(days=30), 31, {"region": "asia"}),  # a month by day of a region
        ("hour", START + timedelta(days=3, hours=5), 2, {}),  # a range starting within a day
    ],
)
def test_figures_equal_sql_over_the_raw_samples(
    loaded: Loaded, by: str, start: datetime, days: int, scope: dict[str, str]
) -> None:
    end = start + timedelta(days=days)
    answer = statistics(loaded, **{"from": start.isoformat(), "to": end.isoformat(), "by": by, **scope})
    if "server" in scope:
        servers = [scope["server"]]
    elif "region" in scope:
        servers = [s for s, r in SERVERS if r == scope["region"]]
    else:
        servers = [s for s, _ in SERVERS]
    expected = reference(loaded, by=by, start=start, end=end, servers=servers)
    step = 3600 if by == "hour" else 86_400
    assert len(answer["points"]) == days * 86_400 // step
    gaps = 0
    for point in answer["points"]:
        at = int(datetime.fromisoformat(point["at"]).timestamp())
        want = expected.get(at)
        if want is None:
            gaps += 1
            assert point["conference_hours"] is None and point["coverage"] is None, point
            continue
        assert point["conference_hours"] == pytest.approx(float(want["conference_hours"]), abs=1.1e-3)
        if want["per_conference"] is not None:
            assert point["participants_per_conference"] == pytest.approx(float(want["per_conference"]), abs=1.1e-3)
        assert point["refusals"] == want["refusals"]
        assert point["traffic_out_bytes"] == pytest.approx(float(want["traffic_out"]), abs=1.0)
    if "server" in scope:
        assert gaps == 7, "srv-06's outage of 7 hours is a gap in its series"
    total_hours = sum(float(w["conference_hours"]) for w in expected.values())
    assert answer["totals"]["conference_hours"] == pytest.approx(total_hours, abs=1.1e-3)


def logged_reference(loaded: Loaded, *, by: str, start: datetime, end: datetime, server: str | None) -> dict[int, Any]:
    """Each bucket's time in conferences (hours) and sessions that joined, in SQL over the raw history rows."""
    step_ms = 3_600_000 if by == "hour" else 86_400_000
    query = """
        WITH buckets AS (SELECT generate_series($1::bigint, $2::bigint - 1, $3::bigint) AS at)
        SELECT b.at / 1000 AS bucket,
               COALESCE(SUM(GREATEST(0, LEAST(s.left_at_ms, b.at + $3) - GREATEST(s.joined_at_ms, b.at))), 0)
                   / 3600000.0 AS hours,
               COUNT(*) FILTER (WHERE s.joined_at_ms >= b.at AND s.joined_at_ms < b.at + $3) AS joined
        FROM buckets b
        LEFT JOIN history_sessions s
          ON s.left_at_ms IS NOT NULL AND s.joined_at_ms < b.at + $3 AND s.left_at_ms >= b.at
             AND ($4::text IS NULL OR s.server_id = $4)
        GROUP BY b.at
    """

    async def run() -> list[Any]:
        conn = await asyncpg.connect(loaded.plain_url)
        try:
            return list(await conn.fetch(query, _ms_of(start), _ms_of(end), step_ms, server))
        finally:
            await conn.close()

    return {int(r["bucket"]): r for r in asyncio.run(run())}


@pytest.mark.parametrize(
    ("by", "start", "days", "server"),
    [
        ("day", START, 90, None),  # a quarter by day, the whole cluster
        ("hour", START + timedelta(days=20), 7, "srv-05"),  # a week by hour of one server (with the moved session)
        ("hour", START + timedelta(days=89, hours=12), 1, None),  # the last hours, where dead servers' sessions end
    ],
)
def test_logged_figures_equal_sql_over_the_call_history(
    loaded: Loaded, by: str, start: datetime, days: int, server: str | None
) -> None:
    end = start + timedelta(days=days)
    params = {"from": start.isoformat(), "to": end.isoformat(), "by": by} | ({"server": server} if server else {})
    answer = statistics(loaded, **params)
    expected = logged_reference(loaded, by=by, start=start, end=end, server=server)
    assert len(answer["points"]) == len(expected)
    for point in answer["points"]:
        want = expected[int(datetime.fromisoformat(point["at"]).timestamp())]
        assert point["logged_participant_hours"] == pytest.approx(float(want["hours"]), abs=1.1e-3), point["at"]
        assert point["logged_sessions"] == want["joined"], point["at"]
    total = sum(float(w["hours"]) for w in expected.values())
    assert answer["totals"]["logged_participant_hours"] == pytest.approx(total, abs=2e-3)
    assert total > 0
    region = statistics(loaded, **{"from": start.isoformat(), "to": end.isoformat(), "by": by, "region": "eu"})
    assert region["totals"]["logged_participant_hours"] is None, "the call history has no regions"


def test_a_cluster_average_counts_only_the_servers_that_were_up(loaded: Loaded) -> None:
    # srv-00 was down for hours 0..6: the cluster's hour 3 has 19 servers' worth of CPU, averaged over 19, not 20.
    start = START + timedelta(hours=3)
    answer = statistics(loaded, **{"from": start.isoformat(), "to": (start + timedelta(hours=1)).isoformat()})
    [point] = answer["points"]
    assert point["coverage"] == 1.0 and point["cpu_percent"] is not None


def test_bad_ranges_get_clear_errors_and_only_admins_may_read(api: Api) -> None:
    def get(token: str | None, **params: str) -> Any:
        return api.call("GET", "/statistics", token, params=params)

    ok = get(api.admin_token, **{"from": "2026-12-01", "to": "2026-12-02"})
    assert ok.status_code == 200 and len(ok.json()["points"]) == 24
    assert all(p["conference_hours"] is None for p in ok.json()["points"]), "nothing recorded yet: gaps, not zeros"
    bad = get(api.admin_token, **{"from": "yesterday", "to": "2026-12-02"})
    assert bad.status_code == 400 and "ISO 8601" in bad.json()["error"]["message"]
    backwards = get(api.admin_token, **{"from": "2026-12-02", "to": "2026-12-01"})
    assert backwards.status_code == 400 and "after" in backwards.json()["error"]["message"]
    too_long = get(api.admin_token, **{"from": "2000-01-01", "to": "2026-12-01", "by": "hour"})
    assert too_long.status_code == 400 and "by=day" in too_long.json()["error"]["message"]
    _, user = api.user("carol")
    assert get(user, **{"from": "2026-12-01", "to": "2026-12-02"}).status_code == 403
    assert get(None, **{"from": "2026-12-01", "to": "2026-12-02"}).status_code == 401


def test_the_cluster_shows_failovers_and_each_license_pool_at_its_peak(api: Api) -> None:
    day = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp())
    minute = ScopeSample(CLUSTER, day + 600, 60, 2, 0.1, 1.0, 3.0, 3, 0.0, 0.0, 0, 2)
    pools = [ScopeSample("license:video", day + 60 * m, 60, 0, 0.0, 0.0, 5.0, 5 + m, 0.0, 0.0) for m in range(3)] + [
        ScopeSample("license:guests", day + 7200, 60, 0, 0.0, 0.0, 1.0, 1, 0.0, 0.0)
    ]
    api.client.portal.call(api.container.get_usage_stats().add, [minute, *pools])  # type: ignore[union-attr]
    answer = api.call(
        "GET", "/statistics", api.admin_token, params={"from": "2026-12-01", "to": "2026-12-01T03:00Z"}
    ).json()
    first, second, third = answer["points"]
    assert (first["failovers"], first["license_video_peak"], first["license_guests_peak"]) == (2, 7, None)
    assert (second["license_video_peak"], third["license_guests_peak"]) == (None, 1)
    assert answer["totals"]["license_video_peak"] == 7 and answer["totals"]["failovers"] == 2
    per_server = api.call(
        "GET", "/statistics", api.admin_token, params={"from": "2026-12-01", "to": "2026-12-02", "server": "x"}
    ).json()
    assert per_server["points"][0]["license_video_peak"] is None, "license pools are the cluster's"
