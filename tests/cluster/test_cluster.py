"""The cluster with real processes: placement by load, draining, failover after kill -9, settings and remote
commands, and running calls surviving the manager and NATS."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import Counter
from typing import Any

import pytest

from tests.cluster.conftest import ClusterApi
from tests.support.resilient_participant import ResilientParticipant

pytestmark = pytest.mark.janus


def _server_of(api: ClusterApi, server_id: str) -> str:
    return next(name for name, s in api.servers().items() if s["id"] == server_id)


async def _join_all(api: ClusterApi, conference_id: int, count: int, tag: str) -> list[ResilientParticipant]:
    people = [ResilientParticipant(f"{tag}-{i}", api.joiner(conference_id)) for i in range(count)]
    for person in people:
        await person.start()
    for person in people:
        await person.wait_for_video_from(count - 1)
    return people


async def _close(people: list[ResilientParticipant]) -> None:
    for person in people:
        with contextlib.suppress(Exception):
            await person.close()


def _loads(cluster: ClusterApi) -> dict[str, tuple[Any, ...]]:
    """What placement looked at, for a failure's message."""
    keys = ("status", "cpu_use", "net_in_bps", "net_out_bps", "participants", "conferences")
    return {name: tuple(s[k] for k in keys) for name, s in cluster.servers().items()}


def _evenly_idle(cluster: ClusterApi) -> bool:
    cpu = [s["cpu_use"] for s in cluster.servers().values()]
    return None not in cpu and max(cpu) < 0.2 and max(cpu) - min(cpu) < 0.02


def _wait_idle(cluster: ClusterApi) -> None:
    """Placement follows load: start from app servers that are done starting and equally idle (a server busier
    by a moment's CPU spike would rightly get fewer conferences, which is not what these tests look at)."""
    cluster.wait(lambda: _evenly_idle(cluster), "equally idle app servers", 60)


async def test_conferences_spread_by_load_and_a_draining_server_gets_none(cluster: ClusterApi) -> None:
    _wait_idle(cluster)
    app3 = cluster.servers()["app-3"]
    r = cluster.call("PATCH", f"/servers/{app3['id']}", json={"draining": True})
    assert r.status_code == 200 and r.json()["status"] == "draining"
    placed: Counter[str] = Counter()
    for i in range(4):
        answer = await cluster.joiner(cluster.conference(f"drain-{i}"))(None)
        placed[_server_of(cluster, answer["server_id"])] += 1
    assert placed["app-3"] == 0 and placed["app-1"] >= 1 and placed["app-2"] >= 1, (placed, _loads(cluster))
    cluster.call("PATCH", f"/servers/{app3['id']}", json={"draining": False})
    cluster.wait(lambda: cluster.servers()["app-3"]["status"] == "up", "app-3 up again")
    await asyncio.sleep(5.5)  # let the placements above age out of the web server's pending count
    _wait_idle(cluster)

    placed.clear()
    for i in range(6):
        answer = await cluster.joiner(cluster.conference(f"spread-{i}"))(None)
        placed[_server_of(cluster, answer["server_id"])] += 1
    assert sorted(placed.values()) == [2, 2, 2], (placed, _loads(cluster))


async def test_kill_9_of_an_app_server_moves_its_conferences_and_media_returns(cluster: ClusterApi) -> None:
    await asyncio.sleep(5.5)
    first, second = cluster.conference("failover-a"), cluster.conference("failover-b")
    # Put both conferences on one server: drain the other two while placing.
    names = ["app-1", "app-2", "app-3"]
    victim_name = names[0]
    for name in names[1:]:
        cluster.call("PATCH", f"/servers/{cluster.servers()[name]['id']}", json={"draining": True})
    people: list[ResilientParticipant] = []
    try:
        people = await _join_all(cluster, first, 3, "a") + await _join_all(cluster, second, 3, "b")
        assert {p.server_id for p in people} == {cluster.servers()[victim_name]["id"]}
        for name in names[1:]:
            cluster.call("PATCH", f"/servers/{cluster.servers()[name]['id']}", json={"draining": False})
        cluster.wait(lambda: all(cluster.servers()[n]["status"] == "up" for n in names[1:]), "others up")

        victim = cluster.cluster.get(victim_name)
        killed_at = time.monotonic()
        cluster.cluster.kill(victim, signal.SIGKILL)
        for person in people:
            restored_at = await person.wait_for_video_from(2, timeout=30, after=killed_at)
            assert person.reconnects >= 1 and person.server_id != cluster.servers()[victim_name]["id"]
            assert restored_at > killed_at
        # Each conference is whole again on one live server.
        assert len({p.server_id for p in people[:3]}) == 1 and len({p.server_id for p in people[3:]}) == 1
        assert cluster.wait(lambda: cluster.servers()[victim_name]["status"] == "down", "the victim down", 10)
    finally:
        await _close(people)
        cluster.cluster.launch(cluster.cluster.get(victim_name))
        cluster.wait(lambda: cluster.servers()[victim_name]["status"] == "up", "the victim back", 60)


async def test_settings_reach_every_server_and_remote_restart_works(cluster: ClusterApi) -> None:
    r = cluster.call("PATCH", "/settings", json={"video_max_height": 360, "domain": "veche.example.org"})
    assert r.status_code == 200
    revision = r.json()["revision"]
    started = time.monotonic()
    everyone = cluster.call("GET", "/servers").json()
    cluster.wait(
        lambda: all(s["settings_revision"] == revision for s in cluster.call("GET", "/servers").json()),
        f"settings revision {revision} on all {len(everyone)} servers",
        timeout=5,
    )
    assert time.monotonic() - started < 3.5  # applied within 2 s, plus at most one heartbeat to report it

    app2 = cluster.servers()["app-2"]
    r = cluster.call("POST", f"/servers/{app2['id']}/actions", json={"action": "restart"})
    assert r.status_code == 200 and "restart" in r.json()["message"]
    # The process re-executes itself (same pid, as under a supervisor) and starts a new Janus.
    old_engine = app2["media_engine"]["pid"]

    def restarted() -> bool:
        s = cluster.servers()["app-2"]
        engine = s["media_engine"] or {}
        return s["status"] == "up" and engine.get("up") is True and engine.get("pid") not in (None, old_engine)

    cluster.wait(restarted, "app-2 up again with a new media engine after the restart", 60)
    assert "restarting as the manager asked" in cluster.cluster.log_tail(cluster.cluster.get("app-2"), 400)


async def test_calls_go_on_without_manager_and_nats_and_newcomers_still_join(cluster: ClusterApi) -> None:
    await asyncio.sleep(5.5)
    conference = cluster.conference("no-control-plane")
    people = await _join_all(cluster, conference, 2, "n")
    late: ResilientParticipant | None = None
    manager = cluster.cluster.get("manager")
    nats = cluster.cluster.nats
    assert nats is not None
    try:
        cluster.cluster.kill(manager, signal.SIGKILL)
        nats.kill()
        await asyncio.sleep(4)  # every heartbeat is now older than 3 s
        frames = [sum(f.video_packets for f in p.current.feeds.values()) for p in people if p.current]
        await asyncio.sleep(2)
        later = [sum(f.video_packets for f in p.current.feeds.values()) for p in people if p.current]
        assert all(b > a for a, b in zip(frames, later, strict=True)), (frames, later)
        assert all(p.reconnects == 0 for p in people)
        late = ResilientParticipant("n-late", cluster.joiner(conference))
        await late.start()
        await late.wait_for_video_from(2)
        assert late.server_id == people[0].server_id
    finally:
        if late is not None:
            await late.close()
        await _close(people)
        nats.restart()
        cluster.cluster.launch(manager)
        cluster.cluster.wait_ready([manager])
    cluster.wait(lambda: all(s["status"] == "up" for s in cluster.servers().values()), "all app servers up again", 20)
