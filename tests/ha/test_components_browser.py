"""The console's Components page in a real browser against a real cluster on three NATS nodes: a table per
segment with every component and which is active, following a NATS node's crash and return without a reload."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS
from tests.ha.components_cluster import ADMIN_PASSWORD, NatsHa, start_nats_ha
from tests.support.eventually import eventually

pytestmark = [pytest.mark.janus, pytest.mark.browser]


@pytest.fixture(scope="module")
def ha(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsHa]:
    yield from start_nats_ha(Path(tmp_path_factory.mktemp("components-browser")))


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Debian Chromium at {CHROMIUM}")
async def test_components_page_shows_each_segment_live(ha: NatsHa) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = await browser.new_page()
            await page.goto(f"{ha.dev.web_url}/login?next=/admin/components")
            await page.fill("input[name=login]", "admin")
            await page.fill("input[name=password]", ADMIN_PASSWORD)
            async with page.expect_navigation():
                await page.click("button[type=submit]")
            assert await page.get_attribute("#link-components", "aria-current") == "page"

            async def rows() -> dict[str, tuple[str, str, str]]:
                found = await page.eval_on_selector_all(
                    ".components-segment tr[data-key]",
                    """rows => rows.map(r => [
                        r.closest('section').querySelector('h2').textContent + ' / '
                            + r.querySelector('.col-kind').textContent + ' ' + r.querySelector('.col-name').textContent,
                        [r.dataset.state, r.querySelector('.col-active').textContent,
                         r.querySelector('.col-address').textContent]])""",
                )
                return {key: (state, active, address) for key, (state, active, address) in found}

            shown = await eventually(rows, lambda r: len(r) >= 8, what="the components drawn")
            processes = {k: v[:2] for k, v in shown.items() if k.startswith("Segment default") and "Database" not in k}
            assert processes == {
                "Segment default / Manager manager": ("up", "active"),
                "Segment default / Base base": ("up", "active"),
                "Segment default / Web web": ("up", "active"),
                "Segment default / Application app-1": ("up", "active"),
            }
            assert [v[:2] for k, v in shown.items() if k.startswith("Segment default / Database")] == [
                ("up", "primary")
            ]
            nats = {v[2]: v[:2] for k, v in shown.items() if k.startswith("All segments (NATS) / NATS")}
            assert nats == {ha.nats_address(i): ("up", "active") for i in range(3)}

            # Live: a node's crash and return appear without a reload.
            victim = ha.nats_address(2)
            ha.nats.kill(2)

            def nats_row(r: dict[str, tuple[str, str, str]]) -> tuple[str, str]:
                return next(v[:2] for v in r.values() if v[2] == victim)

            await eventually(rows, lambda r: nats_row(r) == ("down", "—"), what="the killed node shown down")
            ha.nats.restart(2)
            await eventually(rows, lambda r: nats_row(r) == ("up", "active"), what="the node shown up again")
        finally:
            await browser.close()
