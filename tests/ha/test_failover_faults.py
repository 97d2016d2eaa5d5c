"""Every kind of fault under load, on a `veche dev cluster --ha`-style cluster (2 managers, 2 base, 2 web, 2 app
servers, PostgreSQL primary + synchronous standby under Patroni, 3 NATS nodes): while three people are in a call
chatting, others log in and join and a group chat gets messages, kill -9 in turn the active manager, one base, one
web, one NATS node and the PostgreSQL primary. The call never stops; every answer is 2xx or 503 with Retry-After,
never a 500; logins and joins work again after each switch-over with nothing restarted; every chat message
acknowledged (by the app server in the call, with 201 in the group chat) is in the history exactly once. Each
failed component is then returned (restarted: it comes back as a standby) before the next fault. Prints each
fault's unavailability (no timed assertion)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ha.fault_traffic import FAULTS, KINDS, HaCluster, Traffic, inflict, longest_outage, restore, start_ha_cluster
from tests.support.eventually import eventually
from tests.support.net import MEDIA_NETWORK_REASON, has_media_network
from veche.dev.nats import NatsUnavailable
from veche.dev.patroni import PatroniUnavailable

pytestmark = [pytest.mark.janus, pytest.mark.postgres]

IN_CALL = 3


@pytest.fixture(scope="module")
def ha(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HaCluster]:
    if not has_media_network():
        pytest.skip(f"the app servers' Janus {MEDIA_NETWORK_REASON}")
    try:
        cluster = start_ha_cluster(Path(tmp_path_factory.mktemp("faults")))
    except (PatroniUnavailable, NatsUnavailable) as exc:
        pytest.skip(str(exc))
    try:
        yield cluster
    finally:
        cluster.dev.stop()


async def test_every_fault_is_survived_with_no_500_and_no_chat_message_lost_or_doubled(ha: HaCluster) -> None:
    group = ha.call("POST", "/chats/groups", json={"title": "Under faults", "member_ids": [ha.user_ids[0]]})
    assert group.status_code == 201, group.text
    traffic = Traffic(ha, group_chat=int(group.json()["id"]))
    await traffic.join_call(IN_CALL)
    loops = asyncio.create_task(traffic.run())
    try:
        started = time.monotonic()

        async def going(since: float) -> bool:
            return all(traffic.successes_sent_after(kind, since) >= 10 for kind in KINDS)

        await eventually(lambda: going(started), bool, timeout=60, what="logins and joins before the faults")
        quiet_from = time.monotonic()
        await eventually(lambda: going(quiet_from), bool, timeout=60, what="logins and joins with no fault")
        baseline = {k: longest_outage(traffic.outcomes, k, quiet_from, time.monotonic()) for k in KINDS}
        pids = {p.name: p.pid for p in ha.dev.processes}

        runs = []
        for fault in FAULTS:
            run = await inflict(ha, traffic, fault)
            assert await traffic.calls_running() == [], f"the call stopped after killing {run.victim}"
            alive = {p.name: p.pid for p in ha.dev.processes if p.alive()}
            assert alive == {name: pid for name, pid in pids.items() if name != run.victim}  # nothing restarted
            runs.append(run)
            await restore(ha, traffic, run)
            pids = {p.name: p.pid for p in ha.dev.processes}
    finally:
        traffic.stop.set()
        await asyncio.wait_for(loops, timeout=120)

    assert traffic.wrong_answers() == [], "answers other than 2xx and 503 with Retry-After"
    assert await traffic.calls_running() == []
    acknowledged = set(traffic.acknowledged)

    async def history() -> Counter[str]:
        return Counter(await asyncio.to_thread(ha.history))

    stored = await eventually(
        history, lambda seen: acknowledged <= set(seen), timeout=60, what="every acknowledged chat message stored"
    )
    doubled = {text: n for text, n in stored.items() if n > 1}
    assert doubled == {}, f"chat messages stored more than once: {doubled}"
    posted = Counter(await asyncio.to_thread(ha.history, traffic.group_chat))
    assert [text for text, _ in traffic.posted if posted[text] != 1] == []  # group chat: each acknowledged once
    await traffic.leave_call()

    print(f"\nbaseline (no fault): longest time without a success: login {baseline['login']:.1f} s, "
          f"join {baseline['join']:.1f} s")  # fmt: skip
    for run in runs:
        print(
            f"{run.fault:<8} killed {run.victim:<9}: switch-over seen {run.switched_at - run.killed_at:4.1f} s, "
            f"unavailable: login {run.unavailable_s['login']:4.1f} s, join {run.unavailable_s['join']:4.1f} s"
        )
    answered_503 = Counter(o.kind for o in traffic.outcomes if o.status == 503)
    print(
        f"{len(traffic.outcomes)} requests, 503 answers {dict(answered_503)}, {len(acknowledged)} in-call and "
        f"{len(traffic.posted)} group chat messages acknowledged, all stored once"
    )
