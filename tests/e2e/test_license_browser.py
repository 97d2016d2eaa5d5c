"""The console's License page and a license-refused join in Chromium against the real `veche up`: an administrator
sees the pools unlimited, installs a license through the form, sees a tampered file refused with the old license
kept; with one video connection licensed, a second person's conference page says why it cannot join."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, WebSocket, expect

from tests.support.server import VecheServer
from veche.domain.license import License, generate_key, sign_license
from veche.domain.license_pools import Pool

from .browser import BrowserSession, UserAccount, Veche, eventually
from .conftest import browsing

pytestmark = [pytest.mark.browser]

ORGANISATION = "Example Hospital"
EXPIRES = date.today() + timedelta(days=365)
FULL = "All 1 video connections of your license are in use. Try again later or ask your administrator."
TAMPERED = "The license file was changed after it was signed: its signature does not match."
POLLED_MS = 15_000  # the page polls every 5 s: three chances


@dataclass
class Vendor:
    """A signing key the test server trusts, issuing licenses as a vendor would."""

    private_pem: bytes
    public_key: str

    def issue(self, **pools: int) -> str:
        sizes = {pool: pools.get(pool.value) for pool in Pool}
        license = License(str(uuid.uuid4()), ORGANISATION, EXPIRES, datetime.now(UTC), sizes)
        return sign_license(license, self.private_pem)


@pytest.fixture
def vendor() -> Vendor:
    pem, public = generate_key()
    return Vendor(pem, public)


@pytest.fixture
def licensed_server(tmp_path: Path, vendor: Vendor) -> Iterator[VecheServer]:
    """A fresh `veche up` (no license installed yet) trusting the vendor's key through the environment."""
    server = VecheServer.start(root=tmp_path, env={"VECHE_LICENSE__TRUSTED_KEYS": json.dumps([vendor.public_key])})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def veche_licensed(
    licensed_server: VecheServer, browser: Browser, request: pytest.FixtureRequest
) -> AsyncIterator[Veche]:
    """As the `veche` fixture, against the licensed server."""
    async with browsing(licensed_server, browser, request) as helper:
        yield helper


async def _admin(veche: Veche) -> BrowserSession:
    session = await veche.new_session()
    server = veche.server
    await session.login(UserAccount(0, server.admin_login, "Administrator", server.admin_password), "/admin")
    return session


def _only_server(server: VecheServer) -> dict[str, Any]:
    servers = server.api("GET", "/api/v1/servers", token=server.admin_token).json()
    assert len(servers) == 1, servers
    only: dict[str, Any] = servers[0]
    return only


def _install(server: VecheServer, text: str) -> None:
    """PUT a license file as an API client (a bearer token needs no CSRF header)."""
    response = httpx.put(
        f"{server.url}/api/v1/license",
        content=text,
        headers={"Authorization": f"Bearer {server.admin_token}", "Content-Type": "text/plain"},
    )
    assert response.status_code == 200, response.text


def _report(server: VecheServer) -> dict[str, Any]:
    response = server.api("GET", "/api/v1/license", token=server.admin_token)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_admin_installs_a_license_and_a_tampered_one_is_refused(
    veche_licensed: Veche, vendor: Vendor, tmp_path: Path
) -> None:
    vendor_text = vendor.issue(video=1)
    admin = await _admin(veche_licensed)
    page = admin.page
    await page.click("#link-license")
    await page.wait_for_url("**/admin/license")

    await expect(page.locator("#license-none")).to_have_text("No license installed: every pool is unlimited (counted).")
    await expect(page.locator("#license-none")).to_be_visible()
    for pool in ("online_users", "video", "gateway", "guests"):
        await expect(page.locator(f"#pool-{pool} .col-total")).to_have_text("unlimited")
    await expect(page.locator("#pool-video h2")).to_have_text("Video connections")

    good = tmp_path / "example.license"
    good.write_text(vendor_text)
    await page.get_by_label("License file").set_input_files(good)
    await page.get_by_role("button", name="Install").click()
    result = page.locator("#license-install-result")
    await expect(result).to_have_text(f"Installed: license of {ORGANISATION} until {EXPIRES.isoformat()}.")
    await expect(page.locator("#license-organisation")).to_have_text(ORGANISATION)
    await expect(page.locator("#license-none")).to_be_hidden()
    await expect(page.locator("#pool-video .col-total")).to_have_text("1")
    await expect(page.locator("#pool-gateway .col-total")).to_have_text("unlimited")
    server = _only_server(veche_licensed.server)
    server_row = page.locator(f'#pool-video tr[data-server-id="{server["id"]}"]')
    await expect(server_row.locator(".col-server")).to_have_text(server["name"])
    await expect(server_row.locator(".col-in-use")).to_have_text("0")
    await expect(page.locator('#pool-video tr[data-region="default"] .col-in-use')).to_have_text("0")

    tampered = tmp_path / "tampered.license"
    tampered.write_text(vendor_text.replace('"video": 1', '"video": 100'))
    assert tampered.read_text() != vendor_text
    await page.get_by_label("License file").set_input_files(tampered)
    await page.get_by_role("button", name="Install").click()
    await expect(result).to_have_text(f"Not installed: {TAMPERED} The license in use is unchanged.")
    await expect(result).to_have_class("error")

    # The previous license stays, also for a fresh look at the page.
    await page.reload()
    await expect(page.locator("#license-organisation")).to_have_text(ORGANISATION)
    await expect(page.locator("#pool-video .col-total")).to_have_text("1")
    assert _report(veche_licensed.server)["pools"]["video"]["total"] == 1


@pytest.mark.janus
async def test_a_join_beyond_the_video_pool_shows_why(veche_licensed: Veche, vendor: Vendor) -> None:
    server = veche_licensed.server
    _install(server, vendor.issue(video=1))

    async def video_leased() -> int:
        return sum(_report(server)["pools"]["video"]["leased"].values())

    # The app server admits by the lease it holds: wait until it holds no more than the new total.
    await eventually(video_leased, lambda n: n <= 1, what="the video lease to shrink to the license's 1")
    first, second = veche_licensed.create_user("Alice"), veche_licensed.create_user("Bob")
    conference = veche_licensed.create_conference()

    alice = await veche_licensed.user_in_conference(first, conference["id"])
    await alice.wait_status("connected")

    bob = await veche_licensed.new_session()
    sockets: list[WebSocket] = []

    def keep(socket: WebSocket) -> None:
        sockets.append(socket)

    bob.page.on("websocket", keep)
    await bob.open_conference(second, conference["id"])
    error = bob.page.locator("#veche-error")
    await expect(error).to_have_text(FULL)
    await expect(error).to_be_visible()

    async def sockets_closed() -> bool:
        return bool(sockets) and all(socket.is_closed() for socket in sockets)

    # It stays after the server closes the socket (4000): no reconnection replaces it.
    await eventually(sockets_closed, lambda closed: closed, what="Bob's signaling socket to close")
    await expect(error).to_have_text(FULL)
    await expect(error).to_be_visible()
    assert await bob.status() != "connected"
    assert await alice.status() == "connected"

    # The License page counts the connection in use and the refusal.
    admin = await _admin(veche_licensed)
    await admin.page.goto(f"{server.url}/admin/license")
    await expect(admin.page.locator("#pool-video .col-in-use").first).to_have_text("1", timeout=POLLED_MS)
    await expect(admin.page.locator("#pool-video .pool-figures .col-refusals")).to_have_text("1", timeout=POLLED_MS)

    # Not a page for everybody.
    await bob.page.goto(f"{server.url}/admin/license")
    await expect(bob.page.locator("main")).to_contain_text("Only administrators may open the console.")
