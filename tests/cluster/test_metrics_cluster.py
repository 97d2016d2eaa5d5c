"""``GET /metrics`` on every role's HTTP port of a real cluster (separate processes on NATS and PostgreSQL), with
its own metrics token (``metrics.token_file``) instead of the join token."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.eventually import eventually
from tests.support.net import has_media_network
from veche.dev.cluster import DevCluster
from veche.dev.ports import free_tcp_port

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevCluster, str]]:
    if not has_media_network():
        pytest.skip("the cluster's Janus servers need the test network namespace")
    root = Path(tmp_path_factory.mktemp("metrics-cluster"))
    token = secrets.token_urlsafe(24)
    (root / "metrics_token").write_text(token + "\n")
    dev = DevCluster(
        root=root,
        apps=1,
        http_port=free_tcp_port(),
        admin_password=secrets.token_urlsafe(12),
        extra_config=["[metrics]", f'token_file = "{root / "metrics_token"}"'],
    )
    try:
        dev.start(progress=False)
        yield dev, token
    finally:
        dev.stop()


def _samples(url: str, token: str) -> Samples:
    response = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text
    families = list(text_string_to_metric_families(response.text))
    assert all(family.name.startswith("veche_") for family in families)
    return {(s.name, frozenset(s.labels.items())): s.value for family in families for s in family.samples}


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_every_role_serves_its_metrics_to_the_metrics_token(cluster: tuple[DevCluster, str]) -> None:
    dev, token = cluster
    for proc in dev.processes:
        samples = _samples(proc.url, token)
        assert _value(samples, "veche_build_info", version=_version(), roles=proc.role) == 1, proc.name
        assert _value(samples, "veche_process_resident_memory_bytes") > 0
        join_token = (dev.root / "join_token").read_text().strip()
        refused = httpx.get(f"{proc.url}/metrics", headers={"Authorization": f"Bearer {join_token}"}, timeout=10)
        assert refused.status_code == 401, proc.name  # a metrics token of its own replaces the join token

    app = dev.get("app-1")

    async def app_figures() -> Samples:
        return _samples(app.url, token)

    # The app server renews its leases with the manager over NATS every second: round trips on the bus.
    figures = await eventually(
        app_figures,
        lambda s: (
            _value(s, "veche_bus_request_duration_seconds_count", subject="veche.license.lease") >= 1
            and _value(s, "veche_media_engine_up") == 1
            and _value(s, "veche_license_manager_reachable") == 1
        ),
        what="the app server's lease round trips",
    )
    assert _value(figures, "veche_participants") == 0 and _value(figures, "veche_conferences") == 0

    async def manager_figures() -> Samples:
        return _samples(dev.get("manager").url, token)

    manager = await eventually(
        manager_figures,
        lambda s: _value(s, "veche_cluster_servers", status="up") == len(dev.processes),
        what="every server up in the manager's figures",
    )
    assert ("veche_license_pool_leased", frozenset({("pool", "video")})) in manager
    assert ("veche_participants", frozenset()) not in manager  # an app server's figure only


def _version() -> str:
    from veche import __version__

    return __version__
