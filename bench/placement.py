"""Placement and heartbeat benchmark: what the cluster's control plane costs.

    .venv/bin/python bench/placement.py [--servers 1000] [--decisions 5000] [--nats-servers 100] [--seconds 10]

Prints:
1. The time of one ``place_conference`` decision over N server snapshots (p50/p99 over many decisions with
   varied sizes and regions), next to two baselines measured in the same run: the timing harness alone,
   and a bare Python loop over the same N snapshots (the floor for any scan of them).
2. NATS messages per second per 100 app servers from 1 s heartbeats: computed, then measured by
   publishing heartbeats from 100 simulated servers (one NATS connection each) to a throwaway
   ``nats-server`` and counting what one subscriber receives per second.
No assertions: the figures are for people.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.support

from veche.bus.envelope import encode_message  # noqa: E402
from veche.bus.messages import EngineStatus, ServerHeartbeat  # noqa: E402
from veche.bus.nats import NatsBus  # noqa: E402
from veche.dev.nats import NatsUnavailable, ThrowawayNats  # noqa: E402
from veche.domain.liveness import HEARTBEAT_INTERVAL_S  # noqa: E402
from veche.domain.placement import PlacementRequest, place_conference  # noqa: E402
from veche.domain.server_snapshot import ServerSnapshot, ServerStatus  # noqa: E402

REGIONS = ["eu-west", "eu-east", "us-east", "us-west", "asia"]
NOW_S = 10_000.0


def snapshots(count: int, rng: random.Random) -> list[ServerSnapshot]:
    """A plausible fleet: mostly up and partly loaded, a few draining, down or pending."""
    statuses = [ServerStatus.UP] * 17 + [ServerStatus.DRAINING, ServerStatus.DOWN, ServerStatus.PENDING]
    fleet = []
    for i in range(count):
        cores = rng.choice([8, 16, 32])
        participants = rng.randrange(0, 300)
        fleet.append(
            ServerSnapshot(
                server_id=f"app-{i:04d}",
                region=rng.choice(REGIONS),
                status=rng.choice(statuses),
                last_heartbeat_s=NOW_S - rng.uniform(0.0, 4.0),  # some have missed 3 heartbeats
                cpu_use=rng.uniform(0.0, 0.9),
                cores=cores,
                bandwidth_in_bps=participants * 1.1e6,
                bandwidth_out_bps=rng.uniform(0.0, 9e9),
                bandwidth_capacity_bps=10e9,
                participants=participants,
                max_participants=1000,
                conferences=participants // 6,
            )
        )
    return fleet


def percentiles(samples_ns: list[int]) -> tuple[float, float]:
    """p50 and p99 in microseconds."""
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) / 1000, p99 / 1000


def time_each(call: Callable[[int], object], repeats: int) -> list[int]:
    samples = []
    for i in range(repeats):
        start = time.perf_counter_ns()
        call(i)
        samples.append(time.perf_counter_ns() - start)
    return samples


def bench_placement(server_count: int, decisions: int) -> None:
    rng = random.Random(42)
    fleet = snapshots(server_count, rng)
    requests = [
        PlacementRequest(expected_participants=rng.randrange(2, 40), now_s=NOW_S, region=rng.choice(REGIONS))
        for _ in range(decisions)
    ]

    def nothing(_i: int) -> None:
        return None

    def bare_loop(_i: int) -> None:
        for _server in fleet:
            pass

    def decide(i: int) -> None:
        place_conference(fleet, requests[i])

    for call in (nothing, bare_loop, decide):  # warm up
        time_each(call, min(200, decisions))
    rows = [
        ("harness only (baseline)", time_each(nothing, decisions)),
        (f"bare loop over {server_count} snapshots (baseline)", time_each(bare_loop, decisions)),
        (f"place_conference over {server_count} servers", time_each(decide, decisions)),
    ]
    print(f"Placement decision time ({decisions} decisions, sizes 2..39, {len(REGIONS)} regions):")
    for name, samples in rows:
        p50, p99 = percentiles(samples)
        print(f"  {name:<48} p50 {p50:9.1f} us   p99 {p99:9.1f} us")


def heartbeat(server_id: str, sent_at: float) -> ServerHeartbeat:
    return ServerHeartbeat(
        server_id=server_id,
        roles=["app"],
        software_version="0.1.0",
        host="10.0.0.17",
        pid=12345,
        sent_at=sent_at,
        media_engine=EngineStatus(name="janus", version="1.4.1", up=True, pid=12346),
        conferences=12,
        participants=87,
    )


def print_computed(servers: int) -> None:
    size = len(encode_message(heartbeat("app-0042", time.time())))
    rate = servers / HEARTBEAT_INTERVAL_S
    print(f"NATS heartbeats per {servers} app servers, one every {HEARTBEAT_INTERVAL_S:g} s (computed):")
    print(f"  published {rate:.0f} msg/s; each subscriber (manager, web...) receives {rate:.0f} msg/s")
    print(f"  one heartbeat is {size} bytes on the wire -> {rate * size * 8 / 1000:.0f} kbit/s per subscriber")


async def measure_heartbeats(servers: int, seconds: float) -> None:
    try:
        nats = ThrowawayNats.start()
    except NatsUnavailable as exc:
        print(f"  measured: skipped ({exc})")
        return
    buses: list[NatsBus] = []
    try:
        subscriber = await NatsBus.connect(nats.url, server_id="manager")
        buses.append(subscriber)
        arrivals: list[float] = []

        async def count(_m: ServerHeartbeat) -> None:
            arrivals.append(time.monotonic())

        subscriber.subscribe(ServerHeartbeat, count)
        await subscriber.flush()
        publishers = [await NatsBus.connect(nats.url, server_id=f"app-{i:03d}") for i in range(servers)]
        buses.extend(publishers)

        async def beat(index: int, bus: NatsBus, until: float) -> None:
            await asyncio.sleep(HEARTBEAT_INTERVAL_S * index / servers)  # servers start at different moments
            while time.monotonic() < until:
                await bus.publish(heartbeat(bus.server_id or "?", time.time()))
                await asyncio.sleep(HEARTBEAT_INTERVAL_S)

        nats_process = psutil.Process(nats.process.pid) if nats.process else None
        nats_cpu_before = sum(nats_process.cpu_times()[:2]) if nats_process else 0.0
        start = time.monotonic()
        await asyncio.gather(*(beat(i, bus, start + seconds) for i, bus in enumerate(publishers)))
        await asyncio.sleep(0.2)  # let the last heartbeats arrive
        nats_cpu = (sum(nats_process.cpu_times()[:2]) - nats_cpu_before) if nats_process else 0.0
        # Count whole seconds after the first full round, so the staggered start does not skew the rate.
        window = [t for t in arrivals if start + HEARTBEAT_INTERVAL_S <= t < start + seconds]
        window_s = seconds - HEARTBEAT_INTERVAL_S
        print(f"  measured: {servers} servers x {seconds:g} s to a throwaway nats-server, one subscriber:")
        print(f"    received {len(window) / window_s:.1f} msg/s ({len(arrivals)} heartbeats in all)")
        print(f"    nats-server CPU {nats_cpu / seconds * 100:.2f} % of one core")
    finally:
        for bus in buses:
            await bus.close()
        nats.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=1000, help="servers in the placement snapshot")
    parser.add_argument("--decisions", type=int, default=5000, help="placement decisions timed")
    parser.add_argument("--nats-servers", type=int, default=100, help="simulated servers sending heartbeats")
    parser.add_argument("--seconds", type=float, default=10.0, help="heartbeat measurement window")
    args = parser.parse_args()
    bench_placement(args.servers, args.decisions)
    print()
    print_computed(args.nats_servers)
    asyncio.run(measure_heartbeats(args.nats_servers, args.seconds))


if __name__ == "__main__":
    main()
