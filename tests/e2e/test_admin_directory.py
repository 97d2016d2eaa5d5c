"""The console's directory page in Chromium against the real `veche up` and a real slapd: an administrator
clicks "Sync now", sees the sync run and complete with the right counts, and sees why a broken source fails."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.directory.conftest import BULK, PEOPLE, seed
from tests.directory.slapd import ADMIN_DN, ADMIN_PASSWORD, BASE_DN, Slapd, running_slapd
from tests.support.server import VecheServer

from .browser import BrowserSession, UserAccount, Veche, eventually

pytestmark = [pytest.mark.browser]


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"ldap://127.0.0.1:{s.getsockname()[1]}"


def _source(name: str, url: str, password_file: Path) -> str:
    return f"""
[[directory.sources]]
name = "{name}"
kind = "openldap"
urls = ["{url}"]
bind_dn = "{ADMIN_DN}"
bind_password_file = "{password_file}"
user_base_dns = ["ou=people,{BASE_DN}"]
group_base_dns = ["ou=groups,{BASE_DN}"]
disabled_filter = "(employeeType=disabled)"
page_size = 20
timeout_s = 2
"""


@pytest.fixture(scope="module")
def slapd_server() -> Iterator[Slapd]:
    with running_slapd(seed()) as server:
        yield server


@pytest.fixture(scope="module")
def directory_server(tmp_path_factory: pytest.TempPathFactory, slapd_server: Slapd) -> Iterator[VecheServer]:
    """`veche up` with three sources: a good one, one with a wrong bind password, one whose server is down."""
    root = tmp_path_factory.mktemp("veche-directory")
    good, wrong = root / "bind-password", root / "wrong-password"
    good.write_text(ADMIN_PASSWORD + "\n")
    wrong.write_text("not-the-password\n")
    config = root / "veche.toml"
    config.write_text(
        "[directory]\nwatch = false\n"
        + _source("corp", slapd_server.url, good)
        + _source("broken", slapd_server.url, wrong)
        + _source("offline", _closed_port_url(), good)
    )
    server = VecheServer.start(root=root, extra_args=("--config", str(config)))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def admin(directory_server: VecheServer, browser: Browser) -> AsyncIterator[BrowserSession]:
    helper = Veche(directory_server, browser)
    session = await helper.new_session()
    account = UserAccount(0, directory_server.admin_login, "Administrator", directory_server.admin_password)
    await session.login(account, "/admin")
    try:
        yield session
    finally:
        await helper.close()


async def _row(session: BrowserSession, source: str, column: str) -> str:
    return (await session.page.text_content(f'tr[data-source="{source}"] .col-{column}')) or ""


async def _state(session: BrowserSession, source: str) -> str:
    return (await session.page.get_attribute(f'tr[data-source="{source}"]', "data-state")) or ""


async def test_sync_now_shows_progress_then_the_counts(admin: BrowserSession) -> None:
    page = admin.page
    await page.click("#link-directory-sources")
    await page.wait_for_url("**/admin/directory")
    await eventually(lambda: _state(admin, "corp"), lambda s: s == "never synced", what="corp never synced")
    assert await _row(admin, "corp", "last-sync") == "never"
    # Keep every state the row shows: the sync of 207 people may be over between two polls.
    await page.evaluate(
        """() => {
            const row = document.querySelector('tr[data-source="corp"]');
            window.__states = [row.dataset.state];
            new MutationObserver(() => window.__states.push(row.dataset.state))
                .observe(row, { attributes: true, attributeFilter: ["data-state"] });
        }"""
    )
    await page.click('tr[data-source="corp"] .btn-sync')
    await eventually(lambda: _state(admin, "corp"), lambda s: s == "complete", what="corp complete")
    states: list[str] = await page.evaluate("() => window.__states")
    assert "syncing" in states and states[-1] == "complete", states
    assert await _row(admin, "corp", "people") == f"{len(PEOPLE) + len(BULK)}"
    assert await _row(admin, "corp", "disabled") == "1"
    assert await _row(admin, "corp", "groups") == "8"
    assert await _row(admin, "corp", "last-sync") != "never"
    assert await _row(admin, "corp", "following") == "no"  # watch = false in this configuration
    assert await _row(admin, "corp", "error") == ""
    assert "corp: full sync started." in ((await page.text_content("#sources-notice")) or "")


async def test_broken_sources_show_the_error_in_plain_words(admin: BrowserSession) -> None:
    page = admin.page
    await page.goto(f"{admin.base_url}/admin/directory")
    await page.click('tr[data-source="broken"] .btn-sync')
    await eventually(lambda: _state(admin, "broken"), lambda s: s == "failed", what="broken failed")
    error = await _row(admin, "broken", "error")
    assert f"refused the bind as '{ADMIN_DN}' (invalidCredentials)" in error, error
    assert "Check bind_dn and bind_password_file." in error
    assert await _row(admin, "broken", "state") == "failed"

    await page.click('tr[data-source="offline"] .btn-sync')
    await eventually(lambda: _state(admin, "offline"), lambda s: s == "failed", what="offline failed")
    error = await _row(admin, "offline", "error")
    assert "Directory source offline: no server answered (ldap://127.0.0.1:" in error and "refused" in error, error
    assert await _row(admin, "offline", "people") == "0"
