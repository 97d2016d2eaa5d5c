"""``GET /metrics`` of the real ``veche up``: what a Prometheus scraper reads after a join and a refused join.

The server runs Janus: inside the test network namespace (``scripts/netns-run``). The server is shared by the
session, so figures are compared before and after what this test does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection, connect

from tests.support.eventually import eventually
from tests.support.server import VecheServer
from veche.config.metrics import MetricsConfig
from veche.metrics import DurationHistogram

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

CONFERENCE_NAME = "Quarterly figures with Zoya"


def _scrape_token(server: VecheServer) -> str:
    return (server.data_dir / "join_token").read_text().strip()  # the default metrics token


def _scrape(server: VecheServer, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return server.http().get(server.url + "/metrics", headers=headers)


def _samples(server: VecheServer) -> tuple[list[str], Samples, str]:
    """Family names, every sample by (name, labels), and the raw text, parsed as Prometheus would."""
    response = _scrape(server, _scrape_token(server))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = list(text_string_to_metric_families(response.text))
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in families
        for sample in family.samples
    }
    return [family.name for family in families], samples, response.text


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def _join(server: VecheServer, ticket: str) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await connect(server.url.replace("http://", "ws://", 1) + "/ws/v1")
    await ws.send(json.dumps({"type": "join", "v": 1, "ticket": ticket, "id": 1}))
    return ws, json.loads(await ws.recv())


def _ticket(server: VecheServer, conference_id: int, token: str) -> str:
    answer = server.api("POST", f"/api/v1/conferences/{conference_id}/join", token)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["ticket"])


def _user(server: VecheServer, login: str) -> str:
    created = server.api(
        "POST",
        "/api/v1/users",
        server.admin_token,
        json={"login": login, "display_name": login.title(), "email": "", "password": f"{login}-password-1"},
    )
    assert created.status_code == 201, created.text
    return server.login(login, f"{login}-password-1")


@pytest.mark.janus
async def test_metrics_show_joins_and_a_refused_join_without_naming_anyone(veche_server: VecheServer) -> None:
    _, before, _ = _samples(veche_server)
    created = veche_server.api(
        "POST", "/api/v1/conferences", veche_server.admin_token, json={"name": CONFERENCE_NAME, "max_participants": 2}
    )
    assert created.status_code == 201, created.text
    conference_id = int(created.json()["id"])
    zoya, yakov = _user(veche_server, "zoya"), _user(veche_server, "yakov")

    sockets: list[ClientConnection] = []
    try:
        for token in (veche_server.admin_token, zoya):
            ws, joined = await _join(veche_server, _ticket(veche_server, conference_id, token))
            sockets.append(ws)
            assert joined["type"] == "joined", joined
        third, refused = await _join(veche_server, _ticket(veche_server, conference_id, yakov))
        await third.close()
        assert refused["type"] == "error" and refused["code"] == "conference_full", refused

        names, during, text = _samples(veche_server)
        assert names and all(name.startswith("veche_") for name in names), names

        def grew(name: str, by: float, **labels: str) -> bool:
            return _value(during, name, **labels) == _value(before, name, **labels) + by

        assert grew("veche_participants", 2) and grew("veche_conferences", 1)
        assert grew("veche_joins_admitted_total", 2)
        assert grew("veche_joins_refused_total", 1, reason="conference_full")
        assert grew("veche_license_admissions_total", 2, pool="video")
        assert grew("veche_license_seats_in_use", 2, pool="video")
        assert grew("veche_license_seats_in_use", 2, pool="online_users")
        video = {"pool": "video"}
        assert _value(during, "veche_license_lease_slots", **video) >= _value(
            during, "veche_license_seats_in_use", **video
        )
        assert _value(during, "veche_license_pool_leased", **video) >= 2  # the manager's side (same process here)
        assert _value(during, "veche_media_engine_up") == 1
        # The join tickets' route, by its template: never the conference's id, name or anybody's login.
        join_route = {"method": "POST", "route": "/api/v1/conferences/{conference_id}/join"}
        assert grew("veche_http_request_duration_seconds_count", 3, **join_route)
        assert _value(during, "veche_bus_request_duration_seconds_count", subject="veche.license.lease") >= 1
        for secret in (CONFERENCE_NAME, "zoya", "Zoya", "yakov", "Administrator", f"/conferences/{conference_id}/"):
            assert secret not in text
    finally:
        for ws in sockets:
            await ws.close()

    async def participants() -> float:
        return _value(_samples(veche_server)[1], "veche_participants")

    # They left: the gauge comes back down.
    await eventually(
        participants, lambda n: n == _value(before, "veche_participants"), what="participants after leaving"
    )


def test_metrics_without_the_token_are_refused_and_say_nothing(veche_server: VecheServer) -> None:
    for token in (None, "not-the-token"):
        refused = _scrape(veche_server, token)
        assert refused.status_code == 401
        assert refused.headers.get("www-authenticate") == "Bearer"
        assert "veche_" not in refused.text and "metrics token" in refused.json()["error"]["message"]


def test_addresses_allowed_to_scrape_without_a_token() -> None:
    config = MetricsConfig(allow_from=["10.0.0.0/8", "192.168.1.7"])
    assert config.allows("10.20.30.40") and config.allows("192.168.1.7")
    assert not config.allows("192.168.1.8") and not config.allows("") and not config.allows("testclient")
    with pytest.raises(ValueError, match="metrics.allow_from"):
        MetricsConfig(allow_from=["the prometheus host"])


def test_durations_beyond_the_series_cap_are_counted_as_other() -> None:
    histogram = DurationHistogram((0.1, 1.0), max_series=2)
    for route in ("/a", "/b", "/c", "/d"):
        histogram.observe(("GET", route), 0.5)
    family = histogram.family("veche_test_seconds", "test", ("method", "route"))
    counts = {s.labels["route"]: s.value for s in family.samples if s.name == "veche_test_seconds_count"}
    assert counts == {"/a": 1, "/b": 1, "other": 2}
    buckets = [
        (s.labels["le"], s.value) for s in family.samples if s.name.endswith("_bucket") and s.labels["route"] == "/a"
    ]
    assert buckets == [("0.1", 0.0), ("1.0", 1.0), ("+Inf", 1.0)]


def test_the_grafana_dashboard_asks_only_for_metrics_veche_serves(veche_server: VecheServer) -> None:
    dashboard = json.loads((Path(__file__).parents[2] / "docs" / "grafana-dashboard.json").read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    asked = {re.sub(r"_(bucket|total)$", "", name) for name in re.findall(r"veche_[a-z_]+", " ".join(queries))}
    served, _, _ = _samples(veche_server)
    assert asked and asked <= set(served), asked - set(served)
    assert {panel["title"] for panel in dashboard["panels"]} >= {
        "Participants",
        "Conferences",
        "Media engine up",
        "Joins admitted and refused / min",
        "License lease use by pool",
        "Bus round trip p95",
        "HTTP latency p95 by route",
    }
