"""Call history across a base restart, with real processes (manager, base, web, one app server with its Janus, on
PostgreSQL and NATS): the base role is killed (SIGKILL) in the middle of a call and started again while the app
server keeps sending; afterwards every session is there once, with its real times, and none was taken for a dead
server's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.eventually import eventually
from tests.support.signal_client import SyntheticParticipant
from veche.dev.cluster import DevCluster
from veche.dev.ports import free_tcp_port

ADMIN_PASSWORD = "history-admin-password"
TOLERANCE_S = 2.0


class Cluster:
    def __init__(self, dev: DevCluster) -> None:
        self.dev = dev
        self.admin = self.token("admin", ADMIN_PASSWORD)

    def call(self, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.request(method, f"{self.dev.web_url}/api/v1{path}", headers=headers, timeout=10, **kw)

    def token(self, login: str, password: str) -> str:
        answer = httpx.post(
            f"{self.dev.web_url}/api/v1/auth/token", json={"login": login, "password": password}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["token"])

    def user(self, login: str) -> str:
        body = {"login": login, "display_name": login.title(), "email": f"{login}@example.org"}
        created = self.call("POST", "/users", self.admin, json={**body, "password": f"{login}-password-1"})
        assert created.status_code == 201, created.text
        return self.token(login, f"{login}-password-1")

    async def join(self, conference_id: int, token: str, name: str) -> SyntheticParticipant:
        for _ in range(20):  # 503 while the web server has not heard the app server yet
            answer = self.call("POST", f"/conferences/{conference_id}/join", token)
            if answer.status_code != 503:
                break
            time.sleep(0.5)
        assert answer.status_code == 200, answer.text
        ticket = answer.json()
        participant = SyntheticParticipant(name, auto_subscribe=False)
        await participant.connect(ticket["signaling_url"], ticket["ticket"])
        return participant


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    from tests.support.net import has_media_network

    if not has_media_network():
        pytest.skip("the app server's Janus needs the test network namespace")
    dev = DevCluster(root=tmp_path / "cluster", apps=1, http_port=free_tcp_port(), admin_password=ADMIN_PASSWORD)
    try:
        dev.start(progress=False)
        yield Cluster(dev)
    finally:
        dev.stop()


def _at(text: str | None) -> float | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def test_history_survives_a_base_restart_nothing_lost_nothing_counted_twice(cluster: Cluster) -> None:
    tokens = {name: cluster.user(name) for name in ("anna", "boris", "clara")}
    created = cluster.call("POST", "/conferences", cluster.admin, json={"name": "Restart", "max_participants": 10})
    conference_id = int(created.json()["id"])

    def history() -> list[dict[str, Any]]:
        answer = cluster.call("GET", f"/history?conference_id={conference_id}", cluster.admin)
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    async def probe() -> list[dict[str, Any]]:
        return history()

    times: dict[str, list[float]] = {}
    anna = await cluster.join(conference_id, tokens["anna"], "anna")
    times["Anna"] = [time.time()]
    await eventually(probe, lambda calls: len(calls) == 1, timeout=20, what="Anna's session stored")

    base = cluster.dev.get("base")
    cluster.dev.kill(base)  # SIGKILL: base stores nothing from here on
    boris = await cluster.join(conference_id, tokens["boris"], "boris")
    times["Boris"] = [time.time()]
    times["Anna"].append(time.time())
    await anna.close()
    clara = await cluster.join(conference_id, tokens["clara"], "clara")
    times["Clara"] = [time.time()]
    times["Clara"].append(time.time())
    await clara.close()
    cluster.dev.launch(base)
    cluster.dev.wait_ready([base])

    def caught_up(calls: list[dict[str, Any]]) -> bool:
        return len(calls) == 1 and len(calls[0]["participants"]) == 3

    await eventually(probe, caught_up, timeout=30, what="the sessions kept by the app server while base was down")
    times["Boris"].append(time.time())
    await boris.close()
    (call,) = await eventually(
        probe, lambda calls: len(calls) == 1 and calls[0]["ended_at"] is not None, timeout=30, what="the call ended"
    )
    people = {p["display_name"]: p for p in call["participants"]}
    assert sorted(people) == ["Anna", "Boris", "Clara"]  # each once
    for name, (joined, left) in times.items():
        entry = people[name]
        assert entry["closed_by"] == "app", entry  # the live app server's sessions were never taken for dead ones
        joined_at, left_at = _at(entry["joined_at"]), _at(entry["left_at"])
        assert joined_at is not None and left_at is not None
        assert abs(joined_at - joined) <= TOLERANCE_S, (name, entry)
        assert abs(left_at - left) <= TOLERANCE_S, (name, entry)
