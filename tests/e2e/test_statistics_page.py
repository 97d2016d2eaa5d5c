"""The console's Statistics page in Chromium against the real `veche up`: with two days of samples stored in its
database (SQLite in its data directory, written through UsageStatsStore while it runs), an administrator picks those
days by hour; the charts draw under the pages' CSP, pointing at a bucket reads the value the API returned (a gap as
no data), the CSV download holds the API's points, the PNG is an image, and the arrangement survives a reload."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from tests.support.server import VecheServer
from veche.domain.usage_stats import CLUSTER, ScopeSample
from veche.storage.database import Database
from veche.storage.usage_stats import UsageStatsStore

from .browser import BrowserSession, UserAccount, Veche, eventually

pytestmark = [pytest.mark.browser]

# Ten days ago: before the server's own samples (it records the minutes of now), within the hourly roll-ups'
# retention (a year; older hours are pruned as the manager runs).
DAY0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=10)
DAY1 = DAY0 + timedelta(days=1)
HOURS = 48
GAP = range(30, 33)  # hours without any sample: the manager heard nothing
SAVED = "Arrangement saved: it is kept for your account."


def _sample(hour: int) -> ScopeSample:
    participants = 2.0 + (hour % 7) * 1.5
    return ScopeSample(
        scope=CLUSTER,
        at_s=int((DAY0 + timedelta(hours=hour)).timestamp()),
        seconds=3600,
        servers=1,
        cpu_use=0.1 + (hour % 5) / 10,
        conferences=1.0 + hour % 3,
        participants=participants,
        peak_participants=int(participants) + 1,
        net_in_bps=1e6 * (1 + hour % 4),
        net_out_bps=2e6 * (1 + hour % 4),
        refusals=hour % 2,
    )


@pytest.fixture
async def stored(veche_server: VecheServer) -> AsyncIterator[None]:
    """Two days of hourly cluster samples (less the gap) in the running server's own database."""
    database = Database(f"sqlite+aiosqlite:///{veche_server.data_dir / 'veche.db'}")
    try:
        await UsageStatsStore(database.sessions).add([_sample(h) for h in range(HOURS) if h not in GAP])
        yield
    finally:
        await database.close()


def _api_points(server: VecheServer) -> list[dict[str, Any]]:
    start, end = DAY0.isoformat(), (DAY0 + timedelta(hours=HOURS)).isoformat()
    answer = server.http().get(
        f"{server.url}/api/v1/statistics",
        params={"from": start, "to": end, "by": "hour"},
        headers={"Authorization": f"Bearer {server.admin_token}"},
    )
    assert answer.status_code == 200, answer.text
    points: list[dict[str, Any]] = answer.json()["points"]
    assert len(points) == HOURS
    return points


def _js(value: float | None) -> str:
    """A number as the page writes it (JavaScript's String(): no ".0" on a whole number); a gap as nothing."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(value)


async def _open(veche: Veche) -> BrowserSession:
    session = await veche.new_session()
    server = veche.server
    await session.login(UserAccount(0, server.admin_login, "Administrator", server.admin_password), "/admin")
    await session.page.click("#link-statistics")
    await session.page.wait_for_url("**/admin/statistics")
    return session


async def _choose_the_stored_days(page: Page) -> None:
    await page.select_option("#stats-range", "custom")
    await page.fill("#stats-from", DAY0.date().isoformat())
    await page.fill("#stats-to", DAY1.date().isoformat())
    await page.select_option("#stats-by", "hour")
    await page.click("#stats-show")
    await expect(page.locator("#stats-status")).to_contain_text(
        f"{DAY0:%Y-%m-%d} 00:00 UTC to {DAY1:%Y-%m-%d} 23:00 UTC"
    )


async def _point_at(chart: Locator, index: int, at: str) -> str:
    """Move the mouse over bucket ``index`` (starting ``at``, as the API said) of a chart; its readout's text."""
    over = chart.locator(".u-over")
    await over.scroll_into_view_if_needed()
    box = await over.bounding_box()
    assert box is not None
    kind = await chart.get_attribute("data-kind")
    # Lines run from the first bucket's start to the last's; bars are centred on their bucket with half a bucket
    # of room at each end (statistics.ts).
    share = (index + 0.5) / HOURS if kind == "bar" else index / (HOURS - 1)
    await chart.page.mouse.move(box["x"] + share * box["width"], box["y"] + box["height"] / 2)
    readout = chart.locator(".stats-readout")
    await expect(readout).to_have_attribute("data-at", at)
    return (await readout.text_content()) or ""


async def _order(page: Page) -> list[tuple[str, str]]:
    charts = page.locator("#stats-charts .stats-chart")
    return [
        (str(await c.get_attribute("data-figure")), str(await c.get_attribute("data-kind"))) for c in await charts.all()
    ]


async def test_an_admin_reads_hovers_exports_and_arranges_the_charts(
    veche: Veche, veche_server: VecheServer, stored: None
) -> None:
    points = _api_points(veche_server)
    assert points[GAP[0]]["conference_hours"] is None and points[5]["conference_hours"] is not None
    session = await _open(veche)
    page = session.page
    await _choose_the_stored_days(page)

    hours = page.locator('.stats-chart[data-figure="conference_hours"]')
    await expect(hours.locator("canvas")).to_be_visible()
    await expect(hours.locator("h2")).to_have_text("Time in conferences (person-hours)")
    text = await _point_at(hours, 5, points[5]["at"])
    assert text == f"{DAY0:%Y-%m-%d} 05:00 UTC: {_js(points[5]['conference_hours'])} person-hours"
    assert await hours.locator(".stats-readout").get_attribute("data-value") == _js(points[5]["conference_hours"])
    gap = await _point_at(hours, GAP[1], points[GAP[1]]["at"])
    assert gap == f"{DAY1:%Y-%m-%d} 07:00 UTC: no data (a gap)", "an hour without samples reads as a gap, not a zero"

    traffic = page.locator('.stats-chart[data-figure="traffic_out_bytes"]')
    text = await _point_at(traffic, 40, points[40]["at"])
    assert f"({_js(points[40]['traffic_out_bytes'])} bytes)" in text, text
    average = page.locator('.stats-chart[data-figure="participants_avg"]')
    assert await average.get_attribute("data-kind") == "line"
    assert (await _point_at(average, 20, points[20]["at"])).endswith(f": {_js(points[20]['participants_avg'])}")

    async with page.expect_download() as csv_download:
        await hours.locator("button.export-csv").click()
    download = await csv_download.value
    assert download.suggested_filename == f"veche-cluster-conference_hours-{DAY0:%Y-%m-%d}-{DAY1:%Y-%m-%d}.csv"
    rows = list(csv.reader(io.StringIO((await download.path()).read_text())))
    expected = [["at", "conference_hours"]] + [[p["at"], _js(p["conference_hours"])] for p in points]
    assert rows == expected

    async with page.expect_download() as png_download:
        await hours.locator("button.export-png").click()
    image = (await (await png_download.value).path()).read_bytes()
    assert image.startswith(b"\x89PNG\r\n\x1a\n") and len(image) > 2000

    # Arrange: the first chart one place down, refusals added as bars, CPU removed.
    before = await _order(page)
    assert before[0] == ("conference_hours", "bar")
    await hours.locator("button.move-down").click()
    await expect(page.locator("#stats-layout-status")).to_have_text(SAVED)
    await page.select_option("#stats-add-figure", "refusals")
    await page.select_option("#stats-add-kind", "bar")
    await page.click("#stats-add-button")
    await page.locator('.stats-chart[data-figure="cpu_percent"] button.remove').click()
    arranged = [before[1], before[0]] + [c for c in before[2:] if c[0] != "cpu_percent"] + [("refusals", "bar")]
    await eventually(lambda: _order(page), lambda o: o == arranged, what="the charts in the new order")
    await expect(page.locator("#stats-layout-status")).to_have_text(SAVED)

    await page.reload()
    await _choose_the_stored_days(page)
    await eventually(lambda: _order(page), lambda o: o == arranged, what="the arrangement after a reload")
    await expect(page.locator('.stats-chart[data-figure="refusals"] canvas')).to_be_visible()
    blocked = [line for line in session.console if "Content Security Policy" in line or "pageerror" in line]
    assert not blocked, blocked
