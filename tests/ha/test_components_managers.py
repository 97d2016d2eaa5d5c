"""Two managers (one active by the leader lock, one standby) as real processes: GET /api/v1/components shows which
is active, and after kill -9 of the active one shows it down and the other active, with the take-over."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.eventually import eventually
from veche.dev.cluster import DevCluster
from veche.dev.ports import free_tcp_port

ADMIN_PASSWORD = "managers-admin-password"


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    cluster = DevCluster(
        root=Path(tmp_path_factory.mktemp("components-managers")),
        apps=0,
        managers=2,
        leader_ttl_s=2.0,
        http_port=free_tcp_port(),
        admin_password=ADMIN_PASSWORD,
    )
    try:
        cluster.start(progress=False)
        yield cluster
    finally:
        cluster.stop()


def _managers(rows: list[dict[str, Any]]) -> dict[str, tuple[str, bool]]:
    return {r["name"]: (r["state"], r["active"]) for r in rows if r["kind"] == "manager"}


async def test_one_manager_is_active_and_the_standby_takes_over(dev: DevCluster) -> None:
    token = httpx.post(
        f"{dev.web_url}/api/v1/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD}, timeout=10
    ).json()["token"]

    async def components() -> list[dict[str, Any]]:
        answer = await asyncio.to_thread(
            httpx.get, f"{dev.web_url}/api/v1/components", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    def one_active(rows: list[dict[str, Any]]) -> bool:
        managers = _managers(rows)
        return (
            len(managers) == 2
            and {s for s, _ in managers.values()} == {"up"}
            and sum(a for _, a in managers.values()) == 1
        )

    rows = await eventually(components, one_active, timeout=30, what="two managers up, one of them active")
    active = next(name for name, (_, a) in _managers(rows).items() if a)
    standby = next(name for name in _managers(rows) if name != active)
    details = {r["name"]: r["detail"] for r in rows if r["kind"] == "manager"}
    assert details[standby] == "standby" and details[active].startswith("leader")

    dev.kill(dev.get(active))
    rows = await eventually(
        components,
        lambda r: _managers(r) == {active: ("down", False), standby: ("up", True)},
        timeout=30,
        what=f"{active} down and {standby} active",
    )
    detail = next(r["detail"] for r in rows if r["name"] == standby and r["kind"] == "manager")
    assert f"took over from {active}" in detail, detail
