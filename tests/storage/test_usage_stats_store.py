"""Usage samples and their roll-ups in the database: counted once, across batches, restarts and a kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.eventually import eventually
from veche.bus.inproc import InProcessBus
from veche.bus.messages import ConferenceMoved, ServerFigures, ServerHeartbeat
from veche.config.statistics import StatisticsConfig
from veche.domain.usage_stats import CLUSTER, Granularity, ScopeSample, server_scope
from veche.manager.usage_recorder import UsageRecorder
from veche.storage.database import Database
from veche.storage.usage_stats import UsageStatsStore

T0 = 1_764_547_200  # 2025-12-01T00:00:00Z


def minute(scope: str, n: int, participants: float = 3.0) -> ScopeSample:
    return ScopeSample(
        scope=scope,
        at_s=T0 + 60 * n,
        seconds=60,
        servers=1,
        cpu_use=0.5,
        conferences=1.0,
        participants=participants,
        peak_participants=int(participants),
        net_in_bps=0.0,
        net_out_bps=0.0,
        refusals=1,
    )


# Every stored hour equals its raw samples (the check after any fault): none counted twice, none lost.
CONSISTENT = """
    SELECT COUNT(*) FROM usage_hourly h
    FULL OUTER JOIN (
        SELECT scope, at - at % 3600 AS hour, COUNT(*) AS n, SUM(participants * seconds) AS ps, SUM(refusals) AS r
        FROM usage_samples GROUP BY scope, at - at % 3600
    ) raw ON raw.scope = h.scope AND raw.hour = h.at
    WHERE h.samples IS DISTINCT FROM raw.n OR ABS(h.participant_seconds - raw.ps) > 1e-6 OR h.refusals <> raw.r
"""


async def inconsistent_hours(db: Database) -> int:
    async with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":  # no FULL OUTER JOIN before SQLite 3.39: compare both ways
            query = CONSISTENT.replace("FULL OUTER JOIN", "LEFT JOIN")
        else:
            query = CONSISTENT
        return int((await conn.execute(text(query))).scalar_one())


async def test_a_sample_counts_once_whatever_is_written_again(database: Database) -> None:
    store = UsageStatsStore(database.sessions)
    first = [minute(CLUSTER, n) for n in range(90)]
    assert await store.add(first) == 90
    assert await store.add(first[30:] + [minute(CLUSTER, n) for n in range(90, 120)]) == 30
    hours = await store.rollups(CLUSTER, Granularity.HOUR, T0, T0 + 3 * 3600)
    assert [(h.at_s, h.samples, h.participant_seconds, h.refusals) for h in hours] == [
        (T0, 60, 3.0 * 3600, 60),
        (T0 + 3600, 60, 3.0 * 3600, 60),
    ]
    [day] = await store.rollups(CLUSTER, Granularity.DAY, T0, T0 + 86_400)
    assert day.samples == 120 and day.peak_participants == 3
    assert await inconsistent_hours(database) == 0


async def test_retention_drops_raw_samples_and_old_hours_but_keeps_days(database: Database) -> None:
    store = UsageStatsStore(database.sessions)
    await store.add([minute(CLUSTER, n) for n in range(0, 3 * 1440, 30)])  # three days, every half hour
    await store.prune(samples_before_s=T0 + 86_400, hours_before_s=T0 + 2 * 86_400)
    assert await store.rollups(CLUSTER, Granularity.HOUR, T0, T0 + 2 * 86_400) == []
    assert len(await store.rollups(CLUSTER, Granularity.HOUR, T0, T0 + 3 * 86_400)) == 24
    assert len(await store.rollups(CLUSTER, Granularity.DAY, T0, T0 + 3 * 86_400)) == 3
    async with database.engine.connect() as conn:
        kept = (await conn.execute(text("SELECT MIN(at) FROM usage_samples"))).scalar_one()
    assert kept >= T0 + 86_400


async def test_the_recorder_turns_heartbeats_into_stored_minutes(database: Database) -> None:
    clock = [float(T0)]
    bus = InProcessBus("manager")
    store = UsageStatsStore(database.sessions)
    recorder = UsageRecorder(bus, store, StatisticsConfig(), refusals_of=lambda s: 0, clock_s=lambda: clock[0])
    await recorder.start()
    try:
        for second in range(120):
            clock[0] = T0 + second
            for server_id, roles in (("app-1", ["app"]), ("base-1", ["base", "web"])):
                await bus.publish(
                    ServerHeartbeat(
                        server_id=server_id,
                        roles=roles,
                        software_version="test",
                        host="h",
                        pid=1,
                        sent_at=clock[0],
                        figures=ServerFigures(cpu_use=0.2),
                        conferences=1,
                        participants=5,
                    )
                )
            await bus.wait_delivered()  # heard at this second of the manager's clock
        clock[0] = T0 + 130
        assert await recorder.flush() == 6  # two minutes × (app-1, its region, the cluster)
    finally:
        await recorder.stop()
    hours = await store.rollups(server_scope("app-1"), Granularity.HOUR, T0, T0 + 3600)
    assert [(h.samples, h.seconds, h.participant_seconds) for h in hours] == [(2, 120, 600.0)]
    assert await store.rollups(server_scope("base-1"), Granularity.HOUR, T0, T0 + 3600) == []


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from veche.domain.usage_stats import ScopeSample
    from veche.storage.database import Database
    from veche.storage.usage_stats import UsageStatsStore

    async def main(url):
        db = Database(url)
        store = UsageStatsStore(db.sessions)
        # Overlapping batches, as a manager that restarts resends what it kept: each sample counts once.
        for start in range(0, 100_000, 30):
            batch = [
                ScopeSample(f"server:s{s}", 1764547200 + 60 * m, 60, 1, 0.5, 1.0, 2.0 + s, 3, 0.0, 0.0, 1)
                for m in range(start, start + 60) for s in range(5)
            ]
            await store.add(batch)
            print("batch", start, flush=True)

    asyncio.run(main(sys.argv[1]))
    """
)


async def test_a_manager_killed_while_rolling_up_loses_or_doubles_no_hour(database: Database, tmp_path: Path) -> None:
    if database.url.startswith("sqlite"):
        pytest.skip("the kill test runs on PostgreSQL, where several managers may write")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    log = tmp_path / "writer.log"
    with log.open("w") as out:
        writer = subprocess.Popen([sys.executable, "-c", WRITER, database.url], stdout=out, env=env)
    try:
        await eventually(
            lambda: asyncio.to_thread(lambda: log.read_text().count("batch")),
            lambda n: n >= 3,
            timeout=60,
            what="the writer several batches in",
        )
        writer.send_signal(signal.SIGKILL)  # most likely inside a batch's transaction
        writer.wait(timeout=10)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert await inconsistent_hours(database) == 0
    # A new manager writes everything again, overlapping what the killed one stored.
    store = UsageStatsStore(database.sessions)
    everything = [
        ScopeSample(f"server:s{s}", T0 + 60 * m, 60, 1, 0.5, 1.0, 2.0 + s, 3, 0.0, 0.0, 1)
        for m in range(0, 600)
        for s in range(5)
    ]
    await store.add(everything)
    assert await inconsistent_hours(database) == 0
    [hour] = await store.rollups("server:s0", Granularity.HOUR, T0, T0 + 3600)
    assert (hour.samples, hour.participant_seconds) == (60, 2.0 * 3600)


async def test_the_recorder_counts_a_move_once_and_samples_the_license_pools(database: Database) -> None:
    clock = [float(T0)]
    bus = InProcessBus("manager")
    store = UsageStatsStore(database.sessions)
    in_use = {"video": 4, "guests": 1}
    recorder = UsageRecorder(
        bus, store, StatisticsConfig(), license_in_use=lambda: dict(in_use), clock_s=lambda: clock[0]
    )
    await recorder.start()
    try:
        clock[0] = T0 + 10
        recorder.sample_licenses()
        # Two web servers noticed the same failure (same epoch); a later move of the same conference is another.
        for epoch in (7, 7, 9):
            await bus.publish(ConferenceMoved(conference_id=1, from_server="a", to_server="b", epoch=epoch))
        await bus.wait_delivered()
        clock[0] = T0 + 20
        in_use["video"] = 9
        recorder.sample_licenses()
        clock[0] = T0 + 70
        await recorder.flush()
    finally:
        await recorder.stop()
    [hour] = await store.rollups(CLUSTER, Granularity.HOUR, T0, T0 + 3600)
    assert hour.failovers == 2
    [video] = await store.rollups("license:video", Granularity.HOUR, T0, T0 + 3600)
    assert (video.peak_participants, video.participant_seconds) == (9, 6.5 * 60)
