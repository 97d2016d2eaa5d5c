"""PostgreSQL killed under a running cluster (the bug found in `veche dev cluster` on 2026-12-01): a guest joining
and an admin logging in get 503 with Retry-After and a message in plain words, never a bare 500; once PostgreSQL is
started again on the same data directory and port, both succeed without restarting any Veche process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ha.database_cluster import MESSAGE, DatabaseHa, kill_postgres, running_cluster, start_postgres_again
from tests.support.eventually import eventually
from veche.dev.postgres import PostgresUnavailable, ThrowawayPostgres

pytestmark = [pytest.mark.janus, pytest.mark.postgres]


@pytest.fixture(scope="module")
def postgres() -> Iterator[ThrowawayPostgres]:
    try:
        server = ThrowawayPostgres.start()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def ha(postgres: ThrowawayPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseHa]:
    with running_cluster(Path(tmp_path_factory.mktemp("outage")), postgres.url) as cluster:
        yield cluster


def _says_try_again(answer: httpx.Response) -> None:
    assert answer.status_code == 503, f"HTTP {answer.status_code}: {answer.text}"
    assert int(answer.headers["Retry-After"]) > 0
    assert answer.json() == {"error": {"code": "unavailable", "message": MESSAGE}}


async def test_logins_and_guest_joins_say_try_again_then_work_when_postgres_is_back(
    ha: DatabaseHa, postgres: ThrowawayPostgres
) -> None:
    created = ha.call("POST", "/conferences", ha.admin, json={"name": "Outage", "guests_allowed": True})
    assert created.status_code == 201, created.text
    invite = created.json()["invite_code"]
    servers = await eventually(
        lambda: asyncio.to_thread(lambda: ha.call("GET", "/servers", ha.admin).json()),
        lambda found: any("app" in s["roles"] and s["status"] == "up" for s in found),
        timeout=30,
        what="the app server up",
    )
    assert servers
    assert ha.guest_join(invite).status_code == 200
    before = ha.pids()

    kill_postgres(postgres)
    for _ in range(3):  # the first request finds its pooled connection dead, the next ones cannot connect
        _says_try_again(ha.login())
        _says_try_again(ha.guest_join(invite))
    page = ha.page_login()
    assert page.status_code == 503, f"HTTP {page.status_code}: {page.text}"
    assert page.headers["content-type"].startswith("text/html") and int(page.headers["Retry-After"]) > 0
    assert MESSAGE in page.text

    start_postgres_again(postgres)
    login = await eventually(
        lambda: asyncio.to_thread(ha.login), lambda a: a.status_code != 503, what="a login once PostgreSQL is back"
    )
    assert login.status_code == 200, login.text
    joined = await eventually(
        lambda: asyncio.to_thread(ha.guest_join, invite), lambda a: a.status_code != 503, what="a guest join"
    )
    assert joined.status_code == 200, joined.text
    assert joined.json()["ticket"]
    assert ha.page_login().status_code == 303  # signed in: on to the home page
    assert ha.pids() == before  # no Veche process restarted, none died (their background loops survived)
