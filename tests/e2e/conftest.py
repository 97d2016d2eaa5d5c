"""Browser end-to-end fixtures: one headless Debian Chromium for the session, a new context per user.

Media needs a non-loopback IPv4 address (Janus 1.1.2 never uses loopback), so run these tests inside the
test network namespace: ``scripts/netns-run .venv/bin/pytest tests/e2e -q``. Without Chromium or such an
address every test here is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, async_playwright

from tests.support.net import MEDIA_NETWORK_REASON, has_media_network
from tests.support.server import VecheServer

from .browser import CHROMIUM, CHROMIUM_ARGS, Veche


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = None
    if not os.path.exists(CHROMIUM):
        reason = f"needs Debian Chromium at {CHROMIUM} (apt-get install chromium)"
    elif not has_media_network():
        reason = MEDIA_NETWORK_REASON
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def browsing(server: VecheServer, browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Veche]:
    """Fresh browser contexts against ``server``; on failure, print the pages' consoles and the server log."""
    helper = Veche(server, browser)
    try:
        yield helper
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            for i, session in enumerate(helper.sessions):
                print(f"--- browser {i} console ---\n{session.diagnostics()}")
            print(f"--- server log ---\n{server.log_tail(60)}")
        await helper.close()


@pytest.fixture
async def veche(veche_server: VecheServer, browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Veche]:
    """Per test: fresh browser contexts against the session's server."""
    async with browsing(veche_server, browser, request) as helper:
        yield helper


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
