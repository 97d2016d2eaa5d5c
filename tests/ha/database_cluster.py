"""A real cluster (manager, base, web, one app server with its Janus) on a database the test breaks: a throwaway
PostgreSQL killed and started again, or a Patroni primary + synchronous standby whose primary is killed."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.support.net import MEDIA_NETWORK_REASON, has_media_network
from veche.dev.cluster import DevCluster
from veche.dev.ports import free_tcp_port
from veche.dev.postgres import ThrowawayPostgres, _run_as_prefix

__all__ = ["ADMIN_PASSWORD", "DatabaseHa", "MESSAGE", "kill_postgres", "running_cluster", "start_postgres_again"]

ADMIN_PASSWORD = "database-ha-admin-password"
MESSAGE = "The database is switching over; try again in a few seconds."


@dataclass
class DatabaseHa:
    dev: DevCluster
    admin: str  # the admin's bearer token

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.request(method, f"{self.dev.web_url}/api/v1{path}", headers=headers, timeout=30, **kw)

    async def acall(
        self, client: httpx.AsyncClient, method: str, path: str, token: str | None = None, **kw: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await client.request(method, f"{self.dev.web_url}/api/v1{path}", headers=headers, **kw)

    def login(self) -> httpx.Response:
        return self.call("POST", "/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD})

    def page_login(self) -> httpx.Response:
        """The login page's form, sent the way a browser sends it."""
        with httpx.Client(base_url=self.dev.web_url, timeout=30, headers={"Accept": "text/html"}) as browser:
            page = browser.get("/login")
            assert page.status_code == 200, page.text
            form = {"login": "admin", "password": ADMIN_PASSWORD, "csrf_token": browser.cookies["veche_login_csrf"]}
            return browser.post("/login", data=form)

    def guest_join(self, invite_code: str) -> httpx.Response:
        return self.call("POST", f"/invites/{invite_code}/join", json={"display_name": "Visitor"})

    def pids(self) -> dict[str, int]:
        return {proc.name: proc.pid for proc in self.dev.processes if proc.alive()}


@contextmanager
def running_cluster(root: Path, database_url: str) -> Iterator[DatabaseHa]:
    """Manager, base, web and one app server on ``database_url``; an admin logged in."""
    if not has_media_network():
        pytest.skip(f"the app server's Janus {MEDIA_NETWORK_REASON}")
    dev = DevCluster(
        root=root, apps=1, http_port=free_tcp_port(), admin_password=ADMIN_PASSWORD, database_url=database_url
    )
    try:
        dev.start(progress=False)
        answer = httpx.post(
            f"{dev.web_url}/api/v1/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        yield DatabaseHa(dev, str(answer.json()["token"]))
    finally:
        dev.stop()


def kill_postgres(server: ThrowawayPostgres) -> None:
    """kill -9 the postmaster and every backend of it (a crashed database machine, not a clean stop)."""
    pid = int((server.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    postmaster = psutil.Process(pid)
    processes = [postmaster, *postmaster.children(recursive=True)]
    for process in processes:
        process.send_signal(signal.SIGSTOP)  # nothing answers or forks between the first kill and the last
    for process in processes:
        process.send_signal(signal.SIGKILL)
    psutil.wait_procs(processes, timeout=10)


def start_postgres_again(server: ThrowawayPostgres) -> None:
    """Start the killed server on its data directory and port (``restart`` reuses the options it ran with)."""
    pg_ctl = server.bin_dir / "pg_ctl"
    subprocess.run(
        [*_run_as_prefix(), str(pg_ctl), "-D", str(server.data_dir), "-l", str(server.root / "postgres.log")]
        + ["-w", "-t", "60", "restart"],
        check=True,
        capture_output=True,
        timeout=90,
        cwd=server.root,
    )
