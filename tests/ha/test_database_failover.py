"""The PostgreSQL primary killed (kill -9 of the whole node: Patroni, postmaster and backends) under a running
cluster whose database.url names both Patroni nodes: while logins and chat messages go on, every answer is 2xx or
503 with Retry-After, never 500; after the switch-over logins and messages succeed again with no Veche process
restarted; every message that was acknowledged is there; the old primary, started again, rejoins as the standby.
Prints how long logins and messages were unavailable (no timed assertion)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.ha.database_cluster import ADMIN_PASSWORD, DatabaseHa, running_cluster
from tests.support.eventually import eventually
from veche.dev.patroni import PatroniCluster, PatroniUnavailable

pytestmark = [pytest.mark.janus, pytest.mark.postgres]

AFTER_SWITCH_OVER = 5  # successes of each kind after the new primary took over, before the loops stop


@pytest.fixture(scope="module")
def patroni() -> Iterator[PatroniCluster]:
    try:
        cluster = PatroniCluster.start()
    except PatroniUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def ha(patroni: PatroniCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseHa]:
    with running_cluster(Path(tmp_path_factory.mktemp("failover")), patroni.url) as cluster:
        yield cluster


@dataclass
class Traffic:
    """What the loops saw: every answer's status (and whether a 503 said when to retry), and the acknowledged
    messages."""

    statuses: list[tuple[str, int, bool]] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    last_ok: dict[str, float] = field(default_factory=dict)  # kind -> monotonic time of its last 2xx
    first_ok_after_kill: dict[str, float] = field(default_factory=dict)
    ok_after_switch_over: dict[str, int] = field(default_factory=lambda: {"login": 0, "message": 0})
    killed_at: float | None = None
    switched_over: bool = False

    def saw(self, kind: str, sent_at: float, answer: httpx.Response) -> None:
        self.statuses.append((kind, answer.status_code, "Retry-After" in answer.headers))
        if answer.is_success:
            now = time.monotonic()
            self.last_ok[kind] = now
            sent_after_kill = self.killed_at is not None and sent_at > self.killed_at
            if sent_after_kill and kind not in self.first_ok_after_kill:
                assert self.killed_at is not None
                self.first_ok_after_kill[kind] = now - self.killed_at
            if self.switched_over:
                self.ok_after_switch_over[kind] += 1

    def done(self) -> bool:
        return self.switched_over and min(self.ok_after_switch_over.values()) >= AFTER_SWITCH_OVER


async def _logins(ha: DatabaseHa, traffic: Traffic) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        while not traffic.done():
            sent_at = time.monotonic()
            answer = await ha.acall(client, "POST", "/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD})
            traffic.saw("login", sent_at, answer)
            await asyncio.sleep(0.1)


async def _messages(ha: DatabaseHa, chat_id: int, traffic: Traffic) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        number = 0
        while not traffic.done():
            number += 1
            text = f"message {number}"
            sent_at = time.monotonic()
            answer = await ha.acall(client, "POST", f"/chats/{chat_id}/messages", ha.admin, json={"text": text})
            traffic.saw("message", sent_at, answer)
            if answer.is_success:
                traffic.acknowledged.append(text)
            await asyncio.sleep(0.05)


def _stored_texts(ha: DatabaseHa, chat_id: int) -> set[str]:
    texts: set[str] = set()
    before: int | None = None
    while True:
        params = {"limit": 100, **({"before": before} if before else {})}
        page = ha.call("GET", f"/chats/{chat_id}/messages", ha.admin, params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        texts |= {m["text"] for m in body["messages"]}
        if not body["more"] or not body["messages"]:
            return texts
        before = body["messages"][0]["id"]


async def test_a_killed_primary_loses_no_acknowledged_message_and_nobody_sees_a_500(
    ha: DatabaseHa, patroni: PatroniCluster
) -> None:
    bob = ha.call(
        "POST",
        "/users",
        ha.admin,
        json={"login": "bob", "display_name": "Bob", "email": "bob@example.org", "password": "bob-password-1"},
    )
    assert bob.status_code == 201, bob.text
    chat = ha.call("POST", "/chats/groups", ha.admin, json={"title": "Failover", "member_ids": [bob.json()["id"]]})
    assert chat.status_code == 201, chat.text
    chat_id = int(chat.json()["id"])
    old_primary = patroni.primary()
    assert old_primary is not None
    before = ha.pids()

    traffic = Traffic()
    loops = asyncio.gather(_logins(ha, traffic), _messages(ha, chat_id, traffic))
    await eventually(
        lambda: asyncio.sleep(0, len(traffic.acknowledged)), lambda n: n >= 20, what="messages before the fault"
    )
    traffic.killed_at = time.monotonic()
    await asyncio.to_thread(patroni.kill_node, old_primary)
    new_primary = await eventually(
        lambda: asyncio.to_thread(patroni.primary),
        lambda name: name not in (None, old_primary),
        timeout=60,
        what="the standby promoted",
    )
    switched_at = time.monotonic()
    traffic.switched_over = True
    await asyncio.wait_for(loops, timeout=120)

    wrong = [(kind, status) for kind, status, _ in traffic.statuses if not (200 <= status < 300 or status == 503)]
    assert wrong == [], f"answers other than 2xx and 503: {wrong}"
    no_retry_after = [kind for kind, status, retry in traffic.statuses if status == 503 and not retry]
    assert no_retry_after == []
    lost = set(traffic.acknowledged) - _stored_texts(ha, chat_id)
    assert lost == set(), f"{len(lost)} of {len(traffic.acknowledged)} acknowledged messages lost"
    assert ha.pids() == before  # nothing restarted

    restarted_at = time.monotonic()
    await asyncio.to_thread(patroni.restart_node, old_primary)
    await asyncio.to_thread(patroni.wait_synchronous)
    rejoined_s = time.monotonic() - restarted_at
    roles = {m.name: m.role for m in patroni.members()}
    assert roles == {new_primary: "leader", old_primary: "sync_standby"}

    unavailable = {k: sum(1 for kind, s, _ in traffic.statuses if kind == k and s == 503) for k in ("login", "message")}
    print(
        f"\nfailover {old_primary} -> {new_primary}: promoted {switched_at - traffic.killed_at:.1f} s after the kill; "
        f"first success after the kill: login {traffic.first_ok_after_kill.get('login', -1):.1f} s, "
        f"message {traffic.first_ok_after_kill.get('message', -1):.1f} s; 503 answers {unavailable}; "
        f"{len(traffic.acknowledged)} messages acknowledged, 0 lost; {old_primary} back as the synchronous standby "
        f"{rejoined_s:.1f} s after its restart"
    )
