"""Directory sources in the console: state and progress read from the database, "sync now" over the bus.

The directory is in memory here (tests/directory/test_console_sync.py runs the same against a real slapd).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import ADMIN_PASSWORD, Api, FakeEngineContainer, _create_admin
from tests.web.test_pages import login
from veche.base.directory.memory import InMemoryDirectoryServer
from veche.base.directory.server import DirectoryServer
from veche.config.directory import DirectorySource
from veche.config.settings import VecheSettings, load_settings
from veche.container import ALL_ROLES
from veche.domain.directory import DirectoryGroup, DirectoryPerson
from veche.web.app import create_app

SOURCE = DirectorySource(
    name="corp", urls=["ldap://memory:389"], user_base_dns=["ou=people"], group_base_dns=["ou=groups"], page_size=2
)
PEOPLE = [
    DirectoryPerson("corp", f"id-{i}", f"uid=user{i},ou=people", f"user{i}", f"User {i}", disabled=i == 5)
    for i in range(6)
]
GROUPS = [DirectoryGroup("corp", "g-all", "cn=all,ou=groups", "all", tuple(p.dn for p in PEOPLE))]


class GatedDirectory(InMemoryDirectoryServer):
    """Holds a full sync after its first page of people until :attr:`gate` is set."""

    def __init__(self) -> None:
        super().__init__(SOURCE, PEOPLE, GROUPS)
        self.gate = asyncio.Event()
        self.gate.set()

    async def people(self) -> AsyncIterator[list[DirectoryPerson]]:
        first = True
        async for page in super().people():
            yield page
            if first:
                first = False
                await self.gate.wait()


class DirectoryContainer(FakeEngineContainer):
    def __init__(self, settings: VecheSettings, roles: list[str]) -> None:
        super().__init__(settings, roles)
        self.directory = GatedDirectory()

    def get_directory_servers(self) -> dict[str, DirectoryServer]:
        return {"corp": self.directory}


def _settings(tmp_path: Path, *, watch: bool) -> VecheSettings:
    return load_settings(None, data_dir=tmp_path, directory={"sources": [SOURCE.model_dump()], "watch": watch})


@contextmanager
def _api(tmp_path: Path, roles: list[str], *, watch: bool = False) -> Iterator[Api]:
    container = DirectoryContainer(_settings(tmp_path, watch=watch), roles)
    with TestClient(create_app(container)) as client:
        client.portal.call(_create_admin, container)  # type: ignore[union-attr]
        token = client.post("/api/v1/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD})
        yield Api(client=client, container=container, admin_token=token.json()["token"])


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Api]:
    """Every role in one process (`veche up`), one in-memory source, no watcher."""
    with _api(tmp_path, ALL_ROLES) as api:
        yield api


def _directory(api: Api) -> GatedDirectory:
    container = api.container
    assert isinstance(container, DirectoryContainer)
    return container.directory


def source(api: Api, token: str | None = None) -> dict[str, Any]:
    response = api.call("GET", "/directory/sources", token or api.admin_token)
    assert response.status_code == 200, response.text
    [found] = response.json()
    return dict(found)


def wait_for(api: Api, accept: Callable[[dict[str, Any]], bool], what: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = source(api)
        if accept(found):
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; last: {found}")
        time.sleep(0.05)


def test_sources_need_an_administrator(console: Api) -> None:
    _, user = console.user("anna")
    assert console.call("GET", "/directory/sources").status_code == 401
    assert console.call("POST", "/directory/sources/corp/sync").status_code == 401
    forbidden = console.call("GET", "/directory/sources", user)
    assert forbidden.status_code == 403 and "administrators" in forbidden.json()["error"]["message"]
    assert console.call("POST", "/directory/sources/corp/sync", user).status_code == 403
    assert console.call("GET", "/directory/sources/corp", user).status_code == 403
    assert console.client.get("/admin/directory", follow_redirects=False).status_code == 303  # to the login page


def test_never_synced_then_sync_now_shows_progress_then_complete(console: Api) -> None:
    fresh = source(console)
    assert fresh["state"] == "never synced" and fresh["kind"] == "openldap" and fresh["urls"] == ["ldap://memory:389"]
    assert (fresh["people"], fresh["groups"], fresh["following_changes"], fresh["last_error"]) == (0, 0, False, None)

    started = console.call("POST", "/directory/sources/corp/sync", console.admin_token)
    assert started.status_code == 202, started.text
    assert started.json()["state"] == "syncing" and started.json()["trigger"] == "console"
    done = wait_for(console, lambda s: s["state"] == "complete", "the first sync to complete")
    assert (done["people"], done["disabled"], done["groups"]) == (6, 1, 1)
    assert done["last_full_sync_at"] is not None and done["last_error"] is None and done["phase"] is None

    # The second sync knows how many people to expect: progress is "people N of 6" while it runs.
    directory = _directory(console)
    console.client.portal.call(directory.gate.clear)  # type: ignore[union-attr]
    assert console.call("POST", "/directory/sources/corp/sync", console.admin_token).status_code == 202
    running = wait_for(console, lambda s: s["phase"] == "people" and s["people_done"] == 2, "progress of the pass")
    assert running["state"] == "syncing" and running["expected_people"] == 6
    conflict = console.call("POST", "/directory/sources/corp/sync", console.admin_token)
    assert conflict.status_code == 409, conflict.text
    assert "already running (started from the console at" in conflict.json()["error"]["message"]
    console.client.portal.call(directory.gate.set)  # type: ignore[union-attr]
    again = wait_for(console, lambda s: s["state"] == "complete", "the second sync to complete")
    assert (again["people"], again["disabled"], again["groups"], again["people_done"]) == (6, 1, 1, 6)
    assert again["last_full_sync_at"] > done["last_full_sync_at"]


def test_unknown_source_is_404(console: Api) -> None:
    response = console.call("POST", "/directory/sources/nope/sync", console.admin_token)
    assert response.status_code == 404 and "no directory source 'nope'" in response.json()["error"]["message"]
    assert console.call("GET", "/directory/sources/nope", console.admin_token).status_code == 404


def test_unreachable_directory_is_a_clear_error_and_disables_nobody(console: Api) -> None:
    assert console.call("POST", "/directory/sources/corp/sync", console.admin_token).status_code == 202
    wait_for(console, lambda s: s["state"] == "complete", "the first sync")
    _directory(console).available = False
    assert console.call("POST", "/directory/sources/corp/sync", console.admin_token).status_code == 202
    failed = wait_for(console, lambda s: s["state"] == "failed", "the sync to fail")
    assert failed["last_error"] == "Directory source corp: no server answered (in memory)."
    assert failed["last_error_at"] is not None and failed["last_full_sync_at"] is not None
    assert (failed["people"], failed["disabled"]) == (6, 1)  # the one disabled in the directory, nobody else


def test_sync_now_from_the_console_page_needs_the_csrf_header(console: Api) -> None:
    login(console, "admin", ADMIN_PASSWORD)
    page = console.client.get("/admin/directory")
    assert page.status_code == 200 and 'data-source="corp"' in page.text and "admin_directory.js" in page.text
    assert 'href="/admin/directory"' in console.client.get("/admin").text
    refused = console.client.post("/api/v1/directory/sources/corp/sync")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
    csrf = re.search(r'data-csrf="([^"]+)"', page.text)
    assert csrf
    started = console.client.post("/api/v1/directory/sources/corp/sync", headers={"X-CSRF-Token": csrf.group(1)})
    assert started.status_code == 202, started.text


def test_a_web_server_without_the_base_role_shows_the_state_and_answers_503(tmp_path: Path) -> None:
    """A cluster's web server: the state comes from the shared database; with no base server on the bus, 503."""

    async def sync_in_another_process() -> None:
        base = DirectoryContainer(_settings(tmp_path, watch=False), ["base"])
        await base.get_database().migrate()
        try:
            await base.get_directory_sync().sync("corp")
        finally:
            await base.get_database().close()

    asyncio.run(sync_in_another_process())
    with _api(tmp_path, ["web"]) as web:
        shown = source(web)
        assert (shown["state"], shown["trigger"], shown["people"], shown["groups"]) == ("complete", "command", 6, 1)
        response = web.call("POST", "/directory/sources/corp/sync", web.admin_token)
        assert response.status_code == 503, response.text
        assert "No base server answered" in response.json()["error"]["message"]


def test_following_changes_and_a_console_sync_while_following(tmp_path: Path) -> None:
    with _api(tmp_path, ALL_ROLES, watch=True) as api:
        first = wait_for(api, lambda s: s["state"] == "complete", "the automatic first sync")
        assert first["trigger"] == "automatic" and first["following_changes"] is False  # no change seen yet
        directory = _directory(api)
        newcomer = DirectoryPerson("corp", "id-new", "uid=new,ou=people", "new", "New Person")
        api.client.portal.call(directory.put_person, newcomer)  # type: ignore[union-attr]
        following = wait_for(api, lambda s: s["following_changes"] and s["people"] == 7, "the change to be followed")
        assert following["last_change_at"] is not None
        assert api.call("POST", "/directory/sources/corp/sync", api.admin_token).status_code == 202
        again = wait_for(api, lambda s: s["state"] == "complete" and s["trigger"] == "console", "the console sync")
        assert (again["people"], again["disabled"]) == (7, 1)
        # The watcher was restarted after the pass: a change made now is followed again.
        api.client.portal.call(directory.delete, "id-new")  # type: ignore[union-attr]
        wait_for(api, lambda s: s["following_changes"] and s["disabled"] == 2, "the deletion to be followed")
