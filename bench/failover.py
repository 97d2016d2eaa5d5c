"""Failover benchmark: how long until media is back after an app server is killed (kill -9).

Run inside the test network namespace (Janus needs a non-loopback address):

    scripts/netns-run .venv/bin/python bench/failover.py [--runs 20] [--participants 4]

Starts `veche dev cluster --apps 3` (throwaway PostgreSQL and NATS, each app server with its own Janus).
Each run places K synthetic aiortc participants (two conferences of K/2) on one app server, kills it with
SIGKILL, and measures for each participant the time from the kill to the first video frame decoded again from
every other participant of its conference (they reconnect by themselves: ask the web server where their
conference runs now, which pings the failed server over NATS and re-places the conference). The killed server
is started again before the next run. Then it prints placement decision time over 1,000 servers and the NATS
message rate per 100 servers (bench/placement.py). Figures only; nothing here is a pass/fail assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.support and bench.placement

import httpx  # noqa: E402
from tests.cluster.conftest import ClusterApi  # noqa: E402
from tests.support.resilient_participant import ResilientParticipant  # noqa: E402

from bench.placement import bench_placement, measure_heartbeats, print_computed  # noqa: E402
from veche.dev.cluster import DevCluster  # noqa: E402
from veche.dev.ports import free_tcp_port  # noqa: E402


async def one_run(api: ClusterApi, run: int, participants: int, victim_name: str) -> list[float | None]:
    names = sorted(api.servers())
    others = [n for n in names if n != victim_name]
    for name in others:  # make the victim the only place for the run's conferences
        api.call("PATCH", f"/servers/{api.servers()[name]['id']}", json={"draining": True})
    per_conference = participants // 2
    people: list[ResilientParticipant] = []
    try:
        for c in range(2):
            conference = api.conference(f"failover-{run}-{c}")
            group = [ResilientParticipant(f"r{run}c{c}p{i}", api.joiner(conference)) for i in range(per_conference)]
            for person in group:
                await person.start()
            for person in group:
                await person.wait_for_video_from(per_conference - 1, timeout=30)
            people += group
        for name in others:
            api.call("PATCH", f"/servers/{api.servers()[name]['id']}", json={"draining": False})
        api.wait(lambda: all(api.servers()[n]["status"] == "up" for n in others), "the other servers up")
        await asyncio.sleep(1.5)  # heartbeats carry the undrained state to the web server

        killed_at = time.monotonic()
        api.cluster.kill(api.cluster.get(victim_name), signal.SIGKILL)

        async def restored(person: ResilientParticipant) -> float | None:
            try:
                back = await person.wait_for_video_from(per_conference - 1, timeout=30, after=killed_at)
                return back - killed_at
            except AssertionError:
                return None

        return list(await asyncio.gather(*(restored(p) for p in people)))
    finally:
        for person in people:
            try:
                await person.close()
            except Exception:
                pass
        victim = api.cluster.get(victim_name)
        api.cluster.launch(victim)
        api.cluster.wait_ready([victim])
        api.wait(lambda: api.servers()[victim_name]["status"] == "up", "the victim back", 60)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--participants", type=int, default=4, help="K participants on the killed server (even)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="veche-failover-"))
    password = secrets.token_urlsafe(12)
    cluster = DevCluster(root=root, apps=3, http_port=free_tcp_port(), admin_password=password)
    print(f"starting a dev cluster with 3 app servers in {root} …", flush=True)
    cluster.start(progress=False)
    try:
        token = httpx.post(
            f"{cluster.web_url}/api/v1/auth/token", json={"login": "admin", "password": password}, timeout=10
        ).json()["token"]
        api = ClusterApi(cluster, token)
        api.wait(lambda: sum(s["status"] == "up" for s in api.servers().values()) == 3, "3 app servers", 60)
        times: list[float] = []
        lost = 0
        for run in range(args.runs):
            victim = f"app-{run % 3 + 1}"
            results = await one_run(api, run, args.participants, victim)
            got = [r for r in results if r is not None]
            lost += len(results) - len(got)
            times += got
            shown = ", ".join(f"{r:.2f}" if r is not None else "LOST" for r in results)
            print(f"run {run + 1:2}/{args.runs}: killed {victim}; media back after [{shown}] s", flush=True)
        print()
        print(f"Failover, {args.runs} runs x {args.participants} participants (kill -9 of their app server):")
        if times:
            within = sum(t <= 5.0 for t in times) / (len(times) + lost)
            print("  kill -> first decoded frame from every other participant again:")
            print(
                f"  p50 {statistics.median(times):.2f} s   p95 {pct(times, 0.95):.2f} s   max {max(times):.2f} s   "
                f"restored within 5 s: {within:.0%}   never restored: {lost}"
            )
        else:
            print(f"  nobody was restored ({lost} lost)")
        print("  targets: p50 < 2 s, p95 < 4 s, 0 lost")
    finally:
        cluster.stop()
    print()
    bench_placement(1000, 5000)
    print()
    print_computed(100)
    await measure_heartbeats(100, 10.0)


if __name__ == "__main__":
    asyncio.run(main())
