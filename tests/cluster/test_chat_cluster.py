"""Persistent chat with real processes (manager, base, web, two app servers with their Janus, on PostgreSQL and
NATS): a message posted on the web server is stored by the base process and reaches the other member's open stream
over NATS; it survives a base restart (SIGKILL) — sending meanwhile is refused with 503, not lost silently — and a
conference's chat history survives the failure (SIGKILL) of the app server the conference ran on."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.eventually import eventually
from tests.support.signal_client import SyntheticParticipant
from veche.dev.cluster import DevCluster
from veche.dev.ports import free_tcp_port

pytestmark = pytest.mark.janus

ADMIN_PASSWORD = "chat-admin-password"


class Cluster:
    def __init__(self, dev: DevCluster) -> None:
        self.dev = dev
        self.admin = self.token("admin", ADMIN_PASSWORD)

    def call(self, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.request(method, f"{self.dev.web_url}/api/v1{path}", headers=headers, timeout=15, **kw)

    def token(self, login: str, password: str) -> str:
        answer = httpx.post(
            f"{self.dev.web_url}/api/v1/auth/token", json={"login": login, "password": password}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["token"])

    def user(self, login: str) -> tuple[int, str]:
        body = {"login": login, "display_name": login.title(), "email": f"{login}@example.org"}
        created = self.call("POST", "/users", self.admin, json={**body, "password": f"{login}-password-1"})
        assert created.status_code == 201, created.text
        return int(created.json()["id"]), self.token(login, f"{login}-password-1")

    async def join(self, conference_id: int, token: str, failed_server: str | None = None) -> SyntheticParticipant:
        body = {"failed_server": failed_server} if failed_server else {}
        for _ in range(40):  # 503 while the web server has not heard a live app server yet
            answer = self.call("POST", f"/conferences/{conference_id}/join", token, json=body)
            if answer.status_code != 503:
                break
            time.sleep(0.5)
        assert answer.status_code == 200, answer.text
        ticket = answer.json()
        participant = SyntheticParticipant("p", auto_subscribe=False)
        participant.server_id = ticket["server_id"]  # type: ignore[attr-defined]
        await participant.connect(ticket["signaling_url"], ticket["ticket"])
        return participant


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    from tests.support.net import has_media_network

    if not has_media_network():
        pytest.skip("the app servers' Janus need the test network namespace")
    root = Path(tmp_path_factory.mktemp("chat-cluster"))
    dev = DevCluster(root=root, apps=2, http_port=free_tcp_port(), admin_password=ADMIN_PASSWORD)
    try:
        dev.start(progress=False)
        yield Cluster(dev)
    finally:
        dev.stop()


def _stream(cluster: Cluster, token: str, after: int, wait_s: float) -> list[dict[str, Any]]:
    with httpx.stream(
        "GET",
        f"{cluster.dev.web_url}/api/v1/chats/events",
        params={"after": after, "wait_s": wait_s},
        headers={"Authorization": f"Bearer {token}"},
        timeout=wait_s + 10,
    ) as response:
        assert response.status_code == 200
        body = "".join(response.iter_text())
    return [json.loads(line[len("data: ") :]) for line in body.splitlines() if line.startswith("data: ")]


async def test_messages_cross_processes_and_survive_a_base_restart(cluster: Cluster) -> None:
    _, anna = cluster.user("anna")
    bob_id, bob = cluster.user("bob")
    chat = cluster.call("POST", "/chats/direct", anna, json={"user_id": bob_id})
    assert chat.status_code == 200, chat.text
    chat_id = chat.json()["id"]

    first = cluster.call("POST", f"/chats/{chat_id}/messages", anna, json={"text": "stored by base"})
    assert first.status_code == 201, first.text
    # Bob's stream (on the web server) gets what the base process stored and announced over NATS.
    got = _stream(cluster, bob, 0, 1)
    assert [m["text"] for m in got] == ["stored by base"]

    base = cluster.dev.get("base")
    cluster.dev.kill(base)
    refused = cluster.call("POST", f"/chats/{chat_id}/messages", anna, json={"text": "while base is down"})
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "unavailable"
    cluster.dev.launch(base)
    cluster.dev.wait_ready([base])

    async def post_again() -> int:
        return cluster.call("POST", f"/chats/{chat_id}/messages", anna, json={"text": "after the restart"}).status_code

    await eventually(post_again, lambda status: status == 201, timeout=30, what="posting after the base restart")
    texts = [m["text"] for m in cluster.call("GET", f"/chats/{chat_id}/messages", bob).json()["messages"]]
    assert texts == ["stored by base", "after the restart"]
    assert [c["unread"] for c in cluster.call("GET", "/chats", bob).json()["chats"]] == [2]


async def test_a_conferences_chat_history_survives_its_app_server(cluster: Cluster) -> None:
    _, carl = cluster.user("carl")
    created = cluster.call("POST", "/conferences", cluster.admin, json={"name": "Failover chat", "access": "open"})
    conference_id = int(created.json()["id"])
    carl_in = await cluster.join(conference_id, carl)
    server_id = carl_in.server_id  # type: ignore[attr-defined]
    await carl_in.send_chat("said before the failure")

    async def history() -> list[str]:
        answer = cluster.call("GET", f"/chats/conferences/{conference_id}/messages", carl)
        assert answer.status_code == 200, answer.text
        return [m["text"] for m in answer.json()["messages"]]

    await eventually(history, lambda t: t == ["said before the failure"], timeout=20, what="the message stored")
    servers = cluster.call("GET", "/servers", cluster.admin).json()
    victim = cluster.dev.get(next(s["name"] for s in servers if s["id"] == server_id))
    cluster.dev.kill(victim)
    try:
        assert await history() == ["said before the failure"]  # from base: the app server that held it is gone
        again = await cluster.join(conference_id, carl, failed_server=server_id)
        assert again.server_id != server_id  # type: ignore[attr-defined]
        await again.send_chat("said after the failover")
        await eventually(
            history,
            lambda t: t == ["said before the failure", "said after the failover"],
            timeout=20,
            what="the history on the new server",
        )
        await again.close()
    finally:
        cluster.dev.launch(victim)
