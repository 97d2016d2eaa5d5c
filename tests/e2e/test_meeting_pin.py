"""A guest of a scheduled meeting with a PIN, in a real browser against ``veche up``: the pre-join screen asks for
the PIN, a wrong one is refused in words and he may try again, the right one lets him in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from .browser import Veche, eventually

pytestmark = [pytest.mark.browser, pytest.mark.janus]


async def test_a_guest_gives_the_meetings_pin_on_the_prejoin_screen(veche: Veche) -> None:
    starts = (datetime.now(UTC) + timedelta(minutes=5)).replace(second=0, microsecond=0)  # within its open window
    body = {
        "title": "Partner review",
        "starts_at": starts.isoformat(),
        "duration_minutes": 30,
        "time_zone": "Europe/Berlin",
        "invite_users": [],
        "invite_emails": ["partner@example.com"],
        "guests_allowed": True,
        "pin": "271828",
    }
    created = veche.server.api("POST", "/api/v1/meetings", token=veche.server.admin_token, json=body)
    assert created.status_code == 201, created.text
    conference_id = created.json()["conference_id"]
    conference = veche.server.api("GET", f"/api/v1/conferences/{conference_id}", token=veche.server.admin_token)
    code = conference.json()["invite_code"]

    guest = await veche.new_session(prejoin=True)
    page = guest.page
    await page.goto(f"{veche.url}/join/{code}")
    await page.wait_for_selector("#prejoin-pin")
    await page.fill("#prejoin-name", "Paula Partner")
    await page.fill("#prejoin-pin", "123456")
    await page.click("#prejoin-join")

    async def error_text() -> str:
        return await page.text_content("#veche-error") or ""

    await eventually(error_text, lambda text: "not this meeting's PIN" in text, what="the wrong PIN refused")
    await page.wait_for_selector("#prejoin-pin", state="visible")
    await page.fill("#prejoin-pin", "271828")
    await page.click("#prejoin-join")
    await guest.wait_status("connected")
