"""Two of each role as real processes (2 managers, 2 base servers, 2 web servers, 1 app server, PostgreSQL,
NATS): a session and its CSRF token from one web server work on the other, login failures count across both,
a chat message sent once is stored once, and when the active manager is killed the standby takes over with a higher
license epoch and joins work again. The leader lock lasts 3 s here (5 s by default) to keep the test brief."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets

from tests.support.eventually import eventually
from veche.dev.cluster import ClusterProcess, DevCluster

pytestmark = pytest.mark.postgres

ADMIN_PASSWORD = "ha-admin-password"
LEADER_TTL_S = 3.0


@dataclass
class Cluster:
    dev: DevCluster
    token: str

    def call(self, method: str, path: str, *, web: int = 0, **kw: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.dev.web_urls[web]}/api/v1{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
            **kw,
        )

    async def active_manager(self) -> str:
        """The name of the manager holding the leader lock (as the database says)."""
        conn = await asyncpg.connect(self.dev.database_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            holder = await conn.fetchval("SELECT holder FROM leader_locks WHERE name = 'manager'")
        finally:
            await conn.close()
        return str(holder or "").split("@", 1)[0]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    from tests.support.net import has_media_network
    from veche.dev.ports import free_tcp_port

    if not has_media_network():
        pytest.skip("the cluster's Janus server needs the test network namespace")
    dev = DevCluster(
        root=Path(tmp_path_factory.mktemp("ha-roles")),
        apps=1,
        http_port=free_tcp_port(),
        admin_password=ADMIN_PASSWORD,
        managers=2,
        bases=2,
        webs=2,
        leader_ttl_s=LEADER_TTL_S,
    )
    try:
        dev.start(progress=False)
        token = httpx.post(
            f"{dev.web_url}/api/v1/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD}, timeout=10
        ).json()["token"]
        cluster = Cluster(dev, token)

        async def app_up() -> int:
            answer = await asyncio.to_thread(cluster.call, "GET", "/servers")
            return sum(1 for s in answer.json() if "app" in s["roles"] and s["status"] == "up")

        asyncio.run(eventually(app_up, lambda n: n == 1, timeout=30, what="the app server up"))
        yield cluster
    finally:
        dev.stop()


def _form_csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def test_a_session_and_its_csrf_token_from_one_web_server_work_on_the_other(cluster: Cluster) -> None:
    one, two = cluster.dev.web_urls
    with httpx.Client(timeout=10) as browser:
        form = browser.get(f"{one}/login")
        signed_in = browser.post(
            f"{two}/login",  # the form from web 1, sent to web 2 (a load balancer may do that)
            data={"login": "admin", "password": ADMIN_PASSWORD, "csrf_token": _form_csrf(form.text), "next": "/"},
        )
        assert signed_in.status_code == 303, signed_in.text
        page = browser.get(f"{one}/account")
        assert page.status_code == 200
        csrf = re.search(r'data-csrf="([^"]+)"', page.text)
        assert csrf, page.text[:500]
        created = browser.post(
            f"{two}/api/v1/conferences",
            json={"name": "Across webs", "max_participants": 10},
            headers={"X-CSRF-Token": csrf.group(1)},
        )
        assert created.status_code == 201, created.text
        refused = browser.post(f"{two}/api/v1/conferences", json={"name": "No token", "max_participants": 10})
        assert refused.status_code == 403


def test_login_failures_count_across_both_web_servers(cluster: Cluster) -> None:
    def attempt(web: int) -> int:
        answer = httpx.post(
            f"{cluster.dev.web_urls[web]}/api/v1/auth/token",
            json={"login": "guessed-account", "password": "not the password"},
            timeout=10,
        )
        return answer.status_code

    # 5 failures allowed a minute (the default), made on either web server.
    assert [attempt(i % 2) for i in range(5)] == [401] * 5
    assert [attempt(0), attempt(1)] == [429, 429]


def test_a_chat_message_is_stored_once_with_two_base_servers(cluster: Cluster) -> None:
    bob = cluster.call(
        "POST", "/users", json={"login": "bob", "display_name": "Bob", "password": "bob-password-1"}
    ).json()
    chat = cluster.call("POST", "/chats/groups", json={"title": "Two bases", "member_ids": [bob["id"]]})
    assert chat.status_code == 201, chat.text
    chat_id = chat.json()["id"]
    for i in range(5):
        sent = cluster.call("POST", f"/chats/{chat_id}/messages", web=i % 2, json={"text": f"message {i}"})
        assert sent.status_code == 201, sent.text
    texts = [m["text"] for m in cluster.call("GET", f"/chats/{chat_id}/messages").json()["messages"]]
    assert texts == [f"message {i}" for i in range(5)]


async def _join(cluster: Cluster, conference_id: int) -> dict[str, Any]:
    """Ask for a ticket and join with it over signaling; the answer to the join."""
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(
            f"{cluster.dev.web_url}/api/v1/conferences/{conference_id}/join",
            headers={"Authorization": f"Bearer {cluster.token}"},
            json={},
        )
    if answer.status_code != 200:
        return {"type": f"HTTP {answer.status_code}", "text": answer.text}
    ticket = answer.json()
    async with websockets.connect(ticket["signaling_url"], open_timeout=5) as ws:
        await ws.send(json.dumps({"type": "join", "v": 1, "ticket": ticket["ticket"], "id": 1}))
        return dict(json.loads(await asyncio.wait_for(ws.recv(), 10)))


def _license(cluster: Cluster) -> dict[str, Any]:
    answer = cluster.call("GET", "/license")  # 503 while no manager serves
    return dict(answer.json()) if answer.status_code == 200 else {}


async def test_killing_the_active_manager_lets_the_standby_take_over_with_a_higher_epoch(cluster: Cluster) -> None:
    active = await cluster.active_manager()
    assert active in ("manager-1", "manager-2")
    standby = "manager-2" if active == "manager-1" else "manager-1"
    before = await eventually(lambda: asyncio.to_thread(_license, cluster), bool, what="the license report")
    conference = int(cluster.call("POST", "/conferences", json={"name": "Before", "max_participants": 10}).json()["id"])
    assert (await _join(cluster, conference))["type"] == "joined"

    victim: ClusterProcess = cluster.dev.get(active)
    cluster.dev.kill(victim, signal.SIGKILL)

    after = await eventually(
        lambda: asyncio.to_thread(_license, cluster),
        lambda report: bool(report) and report["epoch"] > before["epoch"],
        timeout=LEADER_TTL_S * 2 + 5,
        what="the standby manager serving with a higher epoch",
    )
    assert await cluster.active_manager() == standby
    assert after["manager"] == standby  # the License page says which manager answers, and the take-over
    latest = after["takeovers"][0]
    assert (latest["manager"], latest["previous"], latest["epoch"]) == (standby, active, after["epoch"])
    assert f"manager {standby} took over from {active}, epoch {after['epoch']}" in cluster.dev.log_tail(
        cluster.dev.get(standby), lines=400
    )
    # The app server renews its lease with the new manager, and a new join (which needs a grant) works.
    app_id = next(s["id"] for s in cluster.call("GET", "/servers").json() if "app" in s["roles"])
    await eventually(
        lambda: asyncio.to_thread(_license, cluster),
        lambda report: bool(report) and app_id in report["pools"]["video"]["in_use_by_server"],
        timeout=20,
        what="the app server renewing its lease with the new manager",
    )
    later = int(cluster.call("POST", "/conferences", json={"name": "After", "max_participants": 10}).json()["id"])
    joined = await eventually(lambda: _join(cluster, later), lambda a: a["type"] == "joined", what="a join")
    assert joined["type"] == "joined"
