"""The admin console's server page in a real browser against the real cluster: live figures, draining."""

from __future__ import annotations

import os
import re

import pytest
from playwright.async_api import async_playwright

from tests.cluster.conftest import ADMIN_PASSWORD, ClusterApi
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, eventually

pytestmark = [pytest.mark.janus, pytest.mark.browser]


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"needs Debian Chromium at {CHROMIUM}")
async def test_console_lists_servers_live_and_drains_one(cluster: ClusterApi) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = await browser.new_page()
            await page.goto(f"{cluster.cluster.web_url}/login?next=/admin/servers")
            await page.fill("input[name=login]", "admin")
            await page.fill("input[name=password]", ADMIN_PASSWORD)
            async with page.expect_navigation():
                await page.click("button[type=submit]")

            async def app_rows() -> dict[str, dict[str, str]]:
                return dict(
                    await page.eval_on_selector_all(
                        "#servers-body tr",
                        """rows => rows.map(r => [r.querySelector('.col-name').textContent, {
                            status: r.dataset.status, cpu: r.querySelector('.col-cpu').textContent,
                            memory: r.querySelector('.col-memory').textContent,
                            engine: r.querySelector('.col-engine').textContent}])""",
                    )
                )

            rows = await eventually(
                app_rows,
                lambda r: all(r.get(n, {}).get("status") == "up" for n in ("app-1", "app-2", "app-3")),
                what="three app servers up in the console",
            )
            for name in ("app-1", "app-2", "app-3"):
                assert re.fullmatch(r"\d+\.\d %", rows[name]["cpu"]), rows[name]
                assert rows[name]["memory"].endswith("MiB") and re.search(r"janus 1\.4\.\d+ up", rows[name]["engine"])

            # Live: the page follows a server's state without a reload.
            app2 = cluster.servers()["app-2"]
            cluster.call("PATCH", f"/servers/{app2['id']}", json={"region": "eu-north"})
            await eventually(
                lambda: page.text_content("#servers-body tr:has(.col-name:text-is('app-2')) .col-region"),
                lambda text: text == "eu-north",
                what="the edit to appear without a reload",
            )

            await page.click("#servers-body tr:has(.col-name:text-is('app-3')) .btn-drain")
            await eventually(app_rows, lambda r: r["app-3"]["status"] == "draining", what="app-3 draining")
            assert cluster.servers()["app-3"]["status"] == "draining"
            await page.click("#servers-body tr:has(.col-name:text-is('app-3')) .btn-undrain")
            await eventually(app_rows, lambda r: r["app-3"]["status"] == "up", what="app-3 up again")
        finally:
            await browser.close()
