"""High-availability benchmark: how long logins and joins are unavailable when one component is killed (kill -9),
and whether any acknowledged write is lost.

Run inside the test network namespace (Janus needs a non-loopback address):

    scripts/netns-run .venv/bin/python bench/ha.py [--runs 20] [--faults manager,base,web,nats,database]

Starts a `veche dev cluster --ha`-style cluster (tests/ha/fault_traffic.py: 2 managers with a 3 s leader lock, 2
base, 2 web, 2 app servers with their Janus, PostgreSQL primary + synchronous standby under Patroni, 3 NATS nodes).
Three people stay in a call and chat (in-conference chat, archived by base through the app server); others log in,
join (ticket, WebSocket, leave) and post to a group chat, in loops, through both web servers as a balancer would.
Each run kills, in turn, the active manager, base-1, web-1, the NATS node with most clients and the primary; waits until
the switch-over is seen and logins and joins sent after it succeed 3 times; then returns the failed component
(restart: it comes back as a standby) before the next. Prints, per fault, the unavailability of logins and joins
(the longest time without a success, from the kill until they work again) p50/p95/max, next to a baseline: the
same measure over windows with no fault. Then:

- acknowledged writes lost: in-call chat messages the app server took, and group chat messages answered 201, that
  are not in the history at the end (must be 0);
- writes accepted by a deposed primary: after each primary kill, group chat messages answered 201 after the
  promotion that the new primary does not have, plus rows the old primary still holds, once it rejoined as the
  standby and caught up, that the new primary has not (must be 0);
- answers other than 2xx or 503 with Retry-After (must be 0).

Figures only; nothing here is a pass/fail assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.ha and tests.support

import asyncpg  # noqa: E402
from tests.ha.fault_traffic import (  # noqa: E402
    FAULTS,
    KINDS,
    OK_AFTER,
    FaultRun,
    HaCluster,
    Traffic,
    inflict,
    longest_outage,
    restore,
    start_ha_cluster,
)
from tests.support.eventually import eventually  # noqa: E402

from veche.dev.patroni import PatroniCluster  # noqa: E402


def _figures(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):5.1f} {p95:5.1f} {ordered[-1]:5.1f}"


async def _baseline(traffic: Traffic) -> dict[str, float]:
    """The fault windows' measure with no fault: from now until each kind succeeded OK_AFTER times."""
    start = time.monotonic()

    async def done() -> bool:
        return all(traffic.successes_sent_after(kind, start) >= OK_AFTER for kind in KINDS)

    await eventually(done, bool, timeout=120, what="logins and joins with no fault")
    return {k: longest_outage(traffic.outcomes, k, start, time.monotonic()) for k in KINDS}


async def _ids(url: str) -> set[int]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return {int(r["id"]) for r in await conn.fetch("SELECT id FROM chat_messages")}
    finally:
        await conn.close()


async def _rows_only_on(patroni: PatroniCluster, old: str, new: str) -> int:
    """Once ``old`` streams from ``new`` with no lag: rows ``old`` holds that ``new`` has not (a deposed primary's
    writes that survived its rejoin)."""

    async def caught_up() -> bool:
        members = await asyncio.to_thread(patroni.members)
        return any(m.name == old and m.role == "sync_standby" and not m.lag for m in members)

    await eventually(caught_up, bool, timeout=60, what=f"{old} caught up")
    old_rows = await _ids(patroni.node_url(old))  # first: what it holds is on the primary already, or is not
    return len(old_rows - await _ids(patroni.node_url(new)))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="runs per fault")
    parser.add_argument("--faults", default=",".join(FAULTS), help="which faults, in this order each run")
    args = parser.parse_args()
    faults = [f for f in args.faults.split(",") if f]
    root = Path(tempfile.mkdtemp(prefix="veche-bench-ha-"))
    print(f"starting a --ha dev cluster in {root} …", flush=True)
    ha: HaCluster = await asyncio.to_thread(start_ha_cluster, root)
    try:
        group = ha.call("POST", "/chats/groups", json={"title": "Under faults", "member_ids": [ha.user_ids[0]]})
        traffic = Traffic(ha, group_chat=int(group.json()["id"]))
        await traffic.join_call(3)
        loops = asyncio.create_task(traffic.run())
        baselines: list[dict[str, float]] = []
        runs: list[FaultRun] = []
        deposed = 0
        try:
            await _baseline(traffic)  # warm-up
            for run in range(args.runs):
                baselines.append(await _baseline(traffic))
                for fault in faults:
                    done = await inflict(ha, traffic, fault)
                    runs.append(done)
                    await restore(ha, traffic, done)
                    if fault == "database":
                        patroni = ha.dev.patroni
                        assert patroni is not None
                        new = patroni.primary()
                        assert new is not None
                        deposed += await _rows_only_on(patroni, done.victim, new)
                    shown = ", ".join(f"{k} {done.unavailable_s[k]:.1f} s" for k in KINDS)
                    print(f"run {run + 1:2}/{args.runs}: killed {done.victim:<9} unavailable {shown}", flush=True)
        finally:
            traffic.stop.set()
            await asyncio.wait_for(loops, timeout=120)
        silent = await traffic.calls_running()
        await traffic.leave_call()

        in_call = Counter(await asyncio.to_thread(ha.history))
        posted = Counter(await asyncio.to_thread(ha.history, traffic.group_chat))
        lost_chat = sum(1 for t in set(traffic.acknowledged) if in_call[t] == 0)
        lost_posts = sum(1 for t, _ in traffic.posted if posted[t] == 0)
        doubled = sum(1 for n in [*in_call.values(), *posted.values()] if n > 1)
        promoted = [r.switched_at for r in runs if r.fault == "database"]
        after_promotion = sum(1 for t, at in traffic.posted if posted[t] == 0 and any(at > p for p in promoted))

        print()
        print(f"High availability, {args.runs} run(s) per fault (kill -9), unavailability in s:")
        print(f"  {'':<28} {'login p50  p95   max':<21}   {'join p50  p95   max':<21}")
        print(
            f"  {'baseline (no fault)':<28} {_figures([b['login'] for b in baselines]):<21}   "
            f"{_figures([b['join'] for b in baselines])}"
        )
        for fault in faults:
            mine = [r for r in runs if r.fault == fault]
            label = {"manager": "the active manager", "base": "one base", "web": "one web", "nats": "one NATS node"}
            print(
                f"  {label.get(fault, 'the PostgreSQL primary'):<28} "
                f"{_figures([r.unavailable_s['login'] for r in mine]):<21}   "
                f"{_figures([r.unavailable_s['join'] for r in mine])}"
                f"   (switch-over seen p50 {statistics.median([r.switched_at - r.killed_at for r in mine]):.1f} s)"
            )
        statuses = Counter(o.status for o in traffic.outcomes if o.kind != "chat")
        print(
            f"  requests {len(traffic.outcomes)}; answers {dict(sorted(statuses.items()))} (0: no web answered); "
            f"wrong answers (not 2xx, not 503 with Retry-After): {dict(Counter(traffic.wrong_answers())) or 0}"
        )
        print(
            f"  acknowledged writes lost: {lost_chat} of {len(set(traffic.acknowledged))} in-call chat messages, "
            f"{lost_posts} of {len(traffic.posted)} group chat messages; stored twice: {doubled}"
        )
        print(
            f"  writes accepted by a deposed primary: {after_promotion} acknowledged after a promotion and missing, "
            f"{deposed} rows kept by a rejoined old primary"
        )
        print(f"  calls that stopped: {len(silent)}")
    finally:
        await asyncio.to_thread(ha.dev.stop)


if __name__ == "__main__":
    asyncio.run(main())
