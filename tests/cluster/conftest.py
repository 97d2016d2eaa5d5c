"""A real cluster for the whole module: manager, base, web and 3 app servers (each with its own Janus) as
separate processes on a throwaway PostgreSQL and NATS — `veche dev cluster`'s machinery."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.resilient_participant import JoinFunction
from veche.dev.cluster import DevCluster

ADMIN_PASSWORD = "cluster-admin-password"


@dataclass
class ClusterApi:
    cluster: DevCluster
    token: str

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.cluster.web_url}/api/v1{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
            **kw,
        )

    def servers(self) -> dict[str, dict[str, Any]]:
        """App servers by name."""
        return {s["name"]: s for s in self.call("GET", "/servers").json() if "app" in s["roles"]}

    def wait(self, predicate: Any, what: str, timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")

    def conference(self, name: str) -> int:
        r = self.call("POST", "/conferences", json={"name": name, "max_participants": 10})
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    def joiner(self, conference_id: int) -> JoinFunction:
        async def join(failed_server: str | None) -> dict[str, Any]:
            async with httpx.AsyncClient(timeout=10) as client:
                for attempt in range(3):
                    r = await client.post(
                        f"{self.cluster.web_url}/api/v1/conferences/{conference_id}/join",
                        headers={"Authorization": f"Bearer {self.token}"},
                        json={"failed_server": failed_server} if failed_server else {},
                    )
                    # 503: no live app server right now (heartbeats late on a loaded machine); the
                    # test retries as a person would; reconnecting clients retry by themselves.
                    if r.status_code != 503:
                        break
                    await asyncio.sleep(0.5 * (attempt + 1))
            if r.status_code != 200:
                raise AssertionError(f"join {conference_id} failed: HTTP {r.status_code} {r.text}")
            return dict(r.json())

        return join


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterApi]:
    from tests.support.net import has_media_network

    if not has_media_network():
        pytest.skip("the cluster's Janus servers need the test network namespace")
    dev = DevCluster(
        root=Path(tmp_path_factory.mktemp("cluster")), apps=3, http_port=_free_port(), admin_password=ADMIN_PASSWORD
    )
    try:
        dev.start(progress=False)
        token = httpx.post(
            f"{dev.web_url}/api/v1/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD}, timeout=10
        ).json()["token"]
        api = ClusterApi(dev, token)
        api.wait(lambda: len([s for s in api.servers().values() if s["status"] == "up"]) == 3, "3 app servers up")
        yield api
    finally:
        dev.stop()


def _free_port() -> int:
    from veche.dev.ports import free_tcp_port

    return free_tcp_port()
