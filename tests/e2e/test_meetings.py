"""Scheduled meetings in a real browser against the real ``veche up``: the organiser schedules a weekly meeting in
the page, the invitee sees it in his week view, is told it is not open yet, and joins once the organiser opens it
(issue 10, "Browser")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from .browser import Veche, eventually

pytestmark = [pytest.mark.browser, pytest.mark.janus]

BERLIN = ZoneInfo("Europe/Berlin")


async def test_schedule_weekly_the_invitee_sees_it_in_his_week_and_joins(veche: Veche) -> None:
    organiser = veche.create_user("Olga Organiser")
    invitee = veche.create_user("Ivan Invitee")
    start = (datetime.now(UTC) + timedelta(minutes=20)).astimezone(BERLIN).replace(second=0, microsecond=0)
    weekday = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][start.weekday()]

    olga = await veche.new_session()
    await olga.login(organiser, "/meetings")
    page = olga.page
    await page.fill("#schedule-form input[name=title]", "Weekly design review")
    await page.fill("#schedule-form input[name=start]", start.strftime("%Y-%m-%dT%H:%M"))
    await page.fill("#schedule-form input[name=duration]", "45")
    await page.fill("#schedule-form input[name=time_zone]", "Europe/Berlin")
    await page.select_option("#schedule-form select[name=repeat]", "WEEKLY")
    await page.check(f"#weekdays input[value={weekday}]")
    await page.fill("#invite-search", invitee.login)
    await page.click(f"#invite-suggestions button[data-id='{invitee.id}']")
    assert "Ivan Invitee" in (await page.text_content("#invite-chosen") or "")
    async with page.expect_navigation(url=re.compile(r"/meetings/\d+$")):
        await page.click("#schedule-submit")
    meeting_id = int(page.url.rsplit("/", 1)[1])
    await page.wait_for_selector("#meeting-title")
    assert await page.text_content("#meeting-title") == "Weekly design review"
    assert "Ivan Invitee" in (await page.text_content("#meeting-invitees") or "")

    # The invitee keeps his own time zone in his profile; the calendar shows the meeting in it.
    ivan = await veche.new_session()
    await ivan.login(invitee, "/account")
    zone = ivan.page.locator("#profile-form input[name=time_zone]")
    await eventually(zone.input_value, bool, what="the profile loaded")
    await zone.fill("Europe/Helsinki")
    await ivan.page.click("#profile-form button[type=submit]")
    await ivan.page.wait_for_selector("#profile-status:has-text('Saved.')")
    await ivan.page.goto(f"{veche.url}/meetings?view=week")
    item = ivan.page.locator(f".calendar-item[data-meeting-id='{meeting_id}']")
    await item.wait_for()
    assert "Weekly design review" in (await item.text_content() or "")
    helsinki = start.astimezone(ZoneInfo("Europe/Helsinki"))
    assert helsinki.strftime("%H:%M") in (await item.text_content() or "")  # 10:00 in Berlin is 11:00 for him
    await item.click()
    await ivan.page.wait_for_selector("#answer-accepted")
    await ivan.page.click("#answer-accepted")
    await ivan.page.wait_for_selector("#answer-accepted[aria-pressed=true]")
    assert "Opens for joining" in (await ivan.page.text_content("#meeting-open-state") or "")

    # Too early: the conference page says when it opens.
    async with ivan.page.expect_navigation():
        await ivan.page.click("#meeting-join")

    async def refusal() -> str:
        return await ivan.page.text_content("body") or ""

    await eventually(refusal, lambda text: "opens for joining at" in text, what="the not-open-yet message")

    # The organiser opens it early; now the invitee joins.
    await page.click("#meeting-start")
    await page.wait_for_selector("#meeting-open-state:has-text('Open for joining now')")
    await ivan.page.goto(f"{veche.url}/meetings/{meeting_id}")
    await ivan.page.wait_for_selector("#meeting-open-state:has-text('Open for joining now')")
    async with ivan.page.expect_navigation():
        await ivan.page.click("#meeting-join")
    await ivan.wait_status("connected")
