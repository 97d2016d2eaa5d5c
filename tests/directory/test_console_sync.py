"""Against real slapd: "Sync now" in the console, then a source with wrong bind credentials and one whose server
is unreachable: the console shows the error in plain words, and nobody is disabled."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.directory.conftest import BULK, PEOPLE
from tests.directory.slapd import ADMIN_DN, Slapd
from tests.web.conftest import ADMIN_PASSWORD, FakeEngineContainer, _create_admin
from veche.config.directory import DirectorySource
from veche.config.settings import load_settings
from veche.container import ALL_ROLES, Container
from veche.web.app import create_app

Make = Callable[..., DirectorySource]


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"ldap://127.0.0.1:{s.getsockname()[1]}"


class Console:
    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def source(self) -> dict[str, Any]:
        response = self.client.get("/api/v1/directory/sources/corp", headers=self.headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def sync_now(self) -> dict[str, Any]:
        """Click "Sync now" and wait until the sync ended; returns what the console then shows."""
        response = self.client.post("/api/v1/directory/sources/corp/sync", headers=self.headers)
        assert response.status_code == 202, response.text
        deadline = time.monotonic() + 30
        while (shown := self.source())["state"] == "syncing":
            assert time.monotonic() < deadline, f"the sync did not end: {shown}"
            time.sleep(0.05)
        return shown


async def _ensure_admin(container: Container) -> None:
    if await container.get_user_store().by_login("admin") is None:
        await _create_admin(container)


@contextmanager
def console(data_dir: Path, source: DirectorySource) -> Iterator[Console]:
    """`veche up` (every role, one process) over ``data_dir``'s database, with one directory source."""
    settings = load_settings(None, data_dir=data_dir, directory={"sources": [source.model_dump()], "watch": False})
    container = FakeEngineContainer(settings, ALL_ROLES)
    with TestClient(create_app(container)) as client:
        client.portal.call(_ensure_admin, container)  # type: ignore[union-attr]
        token = client.post("/api/v1/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD})
        yield Console(client, token.json()["token"])


def test_console_sync_then_bad_credentials_and_unreachable_server(
    tmp_path: Path, slapd: Slapd, make_source: Make
) -> None:
    everyone = len(PEOPLE) + len(BULK)
    with console(tmp_path, make_source(slapd.url)) as good:
        assert good.source()["state"] == "never synced"
        synced = good.sync_now()
        assert synced["state"] == "complete", synced
        assert (synced["people"], synced["disabled"], synced["groups"]) == (everyone, 1, 8)
        assert synced["people_done"] == everyone and synced["last_error"] is None

    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-password\n")
    with console(tmp_path, make_source(slapd.url, bind_password_file=wrong)) as bad_credentials:
        shown = bad_credentials.sync_now()
        assert shown["state"] == "failed"
        assert shown["last_error"] == (
            f"Directory source corp: {slapd.url} refused the bind as '{ADMIN_DN}' (invalidCredentials). "
            "Check bind_dn and bind_password_file."
        )
        assert (shown["people"], shown["disabled"], shown["groups"]) == (everyone, 1, 8)  # nobody disabled
        assert shown["last_full_sync_at"] == synced["last_full_sync_at"]

    dead = _closed_port_url()
    with console(tmp_path, make_source(dead)) as unreachable:
        shown = unreachable.sync_now()
        assert shown["state"] == "failed"
        error = shown["last_error"]
        assert error.startswith(f"Directory source corp: no server answered ({dead}: ") and "refused" in error, error
        assert error.endswith("Check the URLs, the network and TLS settings.")
        assert (shown["people"], shown["disabled"], shown["groups"]) == (everyone, 1, 8)

    with console(tmp_path, make_source(slapd.url)) as fixed:
        assert fixed.source()["state"] == "failed"  # until a sync completes
        again = fixed.sync_now()
        assert (again["state"], again["last_error"], again["disabled"]) == ("complete", None, 1)
