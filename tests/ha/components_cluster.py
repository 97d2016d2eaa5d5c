"""A real cluster on a three-node NATS cluster, for the components tests: manager, base, web and one app server
(with its Janus) as separate processes, each given the three NATS client URLs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.signal_client import SyntheticParticipant
from veche.dev.cluster import DevCluster
from veche.dev.nats import NatsUnavailable, ThrowawayNatsCluster
from veche.dev.ports import free_tcp_port

ADMIN_PASSWORD = "components-admin-password"


@dataclass
class NatsHa:
    dev: DevCluster
    nats: ThrowawayNatsCluster
    admin: str

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.request(method, f"{self.dev.web_url}/api/v1{path}", headers=headers, timeout=15, **kw)

    def token(self, login: str, password: str) -> str:
        answer = self.call("POST", "/auth/token", json={"login": login, "password": password})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["token"])

    def user(self, login: str) -> tuple[int, str]:
        body = {"login": login, "display_name": login.title(), "email": f"{login}@example.org"}
        created = self.call("POST", "/users", self.admin, json={**body, "password": f"{login}-password-1"})
        assert created.status_code == 201, created.text
        return int(created.json()["id"]), self.token(login, f"{login}-password-1")

    def components_now(self) -> list[dict[str, Any]]:
        answer = self.call("GET", "/components", self.admin)
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    async def components(self) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.components_now)

    def nats_address(self, i: int) -> str:
        return self.nats.urls[i].removeprefix("nats://")

    async def join(self, conference_id: int, token: str, name: str) -> SyntheticParticipant:
        """Join as a person would: a 503 (no live app server heard just now) is tried again."""
        for _ in range(60):
            answer = await asyncio.to_thread(self.call, "POST", f"/conferences/{conference_id}/join", token, json={})
            if answer.status_code != 503:
                break
            await asyncio.sleep(0.5)
        assert answer.status_code == 200, answer.text
        participant = SyntheticParticipant(name, auto_subscribe=False)
        await participant.connect(answer.json()["signaling_url"], answer.json()["ticket"])
        return participant


def nats_states(rows: list[dict[str, Any]]) -> dict[str, str]:
    return {r["address"]: r["state"] for r in rows if r["kind"] == "nats"}


def process_states(rows: list[dict[str, Any]]) -> dict[str, str]:
    return {r["name"]: r["state"] for r in rows if r["kind"] in ("manager", "base", "web", "app")}


def start_nats_ha(root: Path) -> Iterator[NatsHa]:
    from tests.support.net import has_media_network

    if not has_media_network():
        pytest.skip("the app server's Janus needs the test network namespace")
    try:
        nats = ThrowawayNatsCluster.start(root / "nats")
    except NatsUnavailable as exc:
        pytest.skip(f"no throwaway NATS: {exc}")
    dev = DevCluster(
        root=root / "cluster", apps=1, http_port=free_tcp_port(), admin_password=ADMIN_PASSWORD, nats_url=nats.url
    )
    try:
        dev.start(progress=False)
        token = httpx.post(
            f"{dev.web_url}/api/v1/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD}, timeout=10
        ).json()["token"]
        ha = NatsHa(dev, nats, str(token))
        deadline = time.monotonic() + 60
        while not _all_active(ha.components_now(), 4):
            assert time.monotonic() < deadline, f"the processes never all came up: {ha.components_now()}"
            time.sleep(0.3)
        yield ha
    finally:
        dev.stop()
        nats.stop()


def _all_active(rows: list[dict[str, Any]], count: int) -> bool:
    """Every process up and active (approved: a registration answer may still be on its way at first)."""
    processes = [r for r in rows if r["kind"] in ("manager", "base", "web", "app")]
    return len(processes) >= count and all(r["state"] == "up" and r["active"] for r in processes)
