"""Statistics benchmark: the Statistics page's API answers over 20 servers × 90 days, and the cost of a roll-up.

    .venv/bin/python bench/stats.py [--requests 60] [--hours 5]

A throwaway PostgreSQL (``veche.dev.postgres.ThrowawayPostgres``) holds the data set of the API test
(tests/web/test_statistics_api.py ``generate``: 20 servers in 4 regions, 90 days of half-hour samples with outages,
their regions' and the cluster's, written through ``UsageStatsStore.add`` as the manager would). The real ASGI app
(all roles but the media engine in memory, as the web tests) answers over httpx's in-process transport, so the times
are the app and the database, not a network. Prints p50/p95 of:

- GET /api/v1/statistics for a quarter by day and a week by hour (the cluster, a region, a server);
- ``SELECT 1`` through the same engine, measured in the same run: the floor of any database round trip;
- rolling up one hour: ``store.add`` of 60 minutes × 20 servers plus their 4 regions and the cluster (1,500 minute
  samples), as 60 calls of one minute each (what the manager's recorder does) and as one call.

No assertions (target: p95 < 300 ms for a quarter); bench/README.md has one run's figures.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' generator and container

from tests.web.conftest import ADMIN_PASSWORD, FakeEngineContainer, _create_admin  # noqa: E402
from tests.web.test_statistics_api import REGIONS, SERVERS, START, generate  # noqa: E402

from veche.config.settings import load_settings  # noqa: E402
from veche.container import ALL_ROLES  # noqa: E402
from veche.dev.postgres import ThrowawayPostgres  # noqa: E402
from veche.domain.usage_stats import CLUSTER, Granularity, ScopeSample, combine, region_scope, server_scope  # noqa: E402
from veche.storage.usage_stats import UsageStatsStore  # noqa: E402
from veche.web.app import create_app  # noqa: E402


def quantiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   (n={len(ordered)})"


async def timed(n: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    await call()  # warm: plans cached, connections open
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def one_hour(hour_start: int, rng: random.Random) -> list[list[ScopeSample]]:
    """60 minutes of every server's minute sample, with their regions' and the cluster's: one list per minute."""
    minutes = []
    for m in range(60):
        at = hour_start + 60 * m
        per_server = [
            (
                region,
                ScopeSample(
                    scope=server_scope(server_id),
                    at_s=at,
                    seconds=60,
                    servers=1,
                    cpu_use=rng.random(),
                    conferences=rng.randint(0, 12),
                    participants=rng.uniform(0, 80),
                    peak_participants=rng.randint(0, 90),
                    net_in_bps=rng.uniform(0, 5e7),
                    net_out_bps=rng.uniform(0, 9e7),
                    refusals=rng.choice([0, 0, 1]),
                ),
            )
            for server_id, region in SERVERS
        ]
        batch = [s for _, s in per_server]
        batch += [combine(region_scope(r), at, [s for rr, s in per_server if rr == r]) for r in REGIONS]
        batch.append(combine(CLUSTER, at, batch[: len(SERVERS)]))
        minutes.append(batch)
    return minutes


async def run(args: argparse.Namespace) -> None:
    postgres = ThrowawayPostgres.start()
    try:
        with tempfile.TemporaryDirectory(prefix="veche-bench-stats-") as tmp:
            # Retention off for the run: the data set's raw samples are older than the default 14 days.
            settings = load_settings(
                None, data_dir=Path(tmp), database={"url": postgres.url}, statistics={"samples_days": 3650}
            )
            container = FakeEngineContainer(settings, ALL_ROLES)
            app = create_app(container)
            async with app.router.lifespan_context(app):
                await bench(container, app, args)
    finally:
        postgres.stop()


async def bench(container: FakeEngineContainer, app: object, args: argparse.Namespace) -> None:
    await _create_admin(container)
    store: UsageStatsStore = container.get_usage_stats()
    t0 = time.perf_counter()
    days = generate(random.Random(2026))
    count = 0
    for batch in days:
        count += await store.add(batch)
    print(f"data set: {count:,} samples (20 servers × 90 days of half hours, regions, cluster) stored and rolled up")
    print(f"  in {time.perf_counter() - t0:.1f} s")

    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        token = (await client.post("/api/v1/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD})).json()
        headers = {"Authorization": f"Bearer {token['token']}"}
        quarter = {"from": START.isoformat(), "to": (START + timedelta(days=90)).isoformat(), "by": "day"}
        week_start = START + timedelta(days=40)
        week = {"from": week_start.isoformat(), "to": (week_start + timedelta(days=7)).isoformat(), "by": "hour"}

        def get(params: dict[str, str]) -> Callable[[], Awaitable[object]]:
            async def call() -> object:
                answer = await client.get("/api/v1/statistics", params=params, headers=headers)
                assert answer.status_code == 200, answer.text
                return answer

            return call

        engine = container.get_database().engine

        async def select_one() -> object:
            async with engine.connect() as conn:
                return (await conn.execute(text("SELECT 1"))).scalar()

        print(f"\nGET /api/v1/statistics ({args.requests} requests each, one after another):")
        for name, params in [
            ("quarter by day, cluster  ", quarter),
            ("quarter by day, region   ", {**quarter, "region": "eu"}),
            ("quarter by day, a server ", {**quarter, "server": "srv-06"}),
            ("week by hour, cluster    ", week),
            ("week by hour, a server   ", {**week, "server": "srv-06"}),
        ]:
            print(f"  {name} {quantiles(await timed(args.requests, get(params)))}")
        print(f"  SELECT 1 (same engine)   {quantiles(await timed(args.requests * 4, select_one))}")
        first, last = int(START.timestamp()), int((START + timedelta(days=90)).timestamp())

        async def read_quarter() -> object:
            return await store.rollups(CLUSTER, Granularity.DAY, first, last)

        print("  of which the read of the quarter's 90 daily roll-ups (store.rollups):")
        print(f"                           {quantiles(await timed(args.requests, read_quarter))}")

    rng = random.Random(7)
    hour0 = int((START + timedelta(days=120)).timestamp())  # after the data set: new hours and days
    minute_calls: list[float] = []
    per_minute: list[float] = []
    one_call: list[float] = []
    for h in range(args.hours):
        minutes = one_hour(hour0 + 3600 * h, rng)
        t0 = time.perf_counter()
        for batch in minutes:
            t1 = time.perf_counter()
            await store.add(batch)
            per_minute.append((time.perf_counter() - t1) * 1000)
        minute_calls.append((time.perf_counter() - t0) * 1000)
    for h in range(args.hours):
        batch = [s for minute in one_hour(hour0 + 3600 * (args.hours + h), rng) for s in minute]
        t0 = time.perf_counter()
        await store.add(batch)
        one_call.append((time.perf_counter() - t0) * 1000)
    print(f"\nRolling up one hour (60 min × (20 servers + 4 regions + cluster) = 1,500 samples), {args.hours} hours:")
    print(f"  60 calls of one minute: the hour {quantiles(minute_calls)}")
    print(f"                          a minute {quantiles(per_minute)}")
    print(f"  one call of the hour:   {quantiles(one_call)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=60, help="requests per API case")
    parser.add_argument("--hours", type=int, default=5, help="hours rolled up per roll-up case")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
