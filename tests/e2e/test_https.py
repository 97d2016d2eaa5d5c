"""A colleague on another machine joins over HTTPS: the page is opened by the server's network address (not
localhost, which browsers treat as secure even over HTTP), camera and microphone work, signaling goes over wss.

Chromium trusts exactly the certificate ``veche up`` generated (by its key, ``--ignore-certificate-errors-spki-list``),
as a browser would once its user trusted it; any other certificate would still be refused.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator, Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.async_api import Browser, async_playwright

from tests.support.net import media_addresses
from tests.support.server import VecheServer

from .browser import CHROMIUM, CHROMIUM_ARGS, BrowserSession, Veche
from .conftest import browsing

pytestmark = [pytest.mark.browser, pytest.mark.janus]


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VecheServer]:
    address = media_addresses()[0]  # skipped before this without one (conftest)
    server = VecheServer.start(root=tmp_path_factory.mktemp("veche-https-e2e"), tls=True, host=address)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
async def trusting_browser(https_server: VecheServer) -> AsyncIterator[Browser]:
    cert = x509.load_pem_x509_certificate((https_server.data_dir / "tls" / "cert.pem").read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    trust = "--ignore-certificate-errors-spki-list=" + base64.b64encode(hashlib.sha256(spki).digest()).decode()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, trust], headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


async def _join(veche: Veche, conference_url: str, name: str, sockets: list[str]) -> BrowserSession:
    """Log in through the login page and open the conference (its address from the API, as in an invitation)."""
    session = await veche.new_session()
    session.page.on("websocket", lambda ws: sockets.append(ws.url))
    await session.login(veche.create_user(name), "/")
    await session.page.goto(conference_url)
    return session


async def test_two_colleagues_join_over_https_and_wss(
    https_server: VecheServer, trusting_browser: Browser, request: pytest.FixtureRequest
) -> None:
    async with browsing(https_server, trusting_browser, request) as veche:
        assert veche.url.startswith("https://") and "127.0.0.1" not in veche.url
        conference = veche.create_conference()
        url = https_server.api("GET", f"/api/v1/conferences/{conference['id']}", https_server.admin_token).json()["url"]
        assert url.startswith(veche.url + "/")
        sockets: list[str] = []
        a = await _join(veche, url, "Alice", sockets)
        b = await _join(veche, url, "Bob", sockets)
        await a.wait_status("connected")
        await b.wait_status("connected")
        a_id, b_id = await a.participant_id(), await b.participant_id()
        assert a_id and b_id

        # A secure context: camera and microphone were given, and each side receives the other's.
        assert await a.page.evaluate("() => window.isSecureContext") is True
        await a.wait_figure_growth(b_id, "framesDecoded", by=30)
        await b.wait_figure_growth(a_id, "framesDecoded", by=30)
        await a.wait_figure_growth(b_id, "audioPacketsReceived", by=50)

        signaling = veche.url.replace("https://", "wss://") + "/ws/v1"
        assert sockets and all(url == signaling for url in sockets), sockets
