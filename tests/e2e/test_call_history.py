"""The issue's call history test, against the real `veche up` and Janus: a call between a browser and a synthetic
client appears in the history with the right people and durations within 2 s of what the test measured; the user
sees it on his /history page; someone who was not in it is told it does not exist."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest

from tests.support.signal_client import SyntheticParticipant

from .browser import Veche, eventually

pytestmark = [pytest.mark.browser, pytest.mark.janus]

TOLERANCE_S = 2.0


def _instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def test_call_history_after_a_call_with_a_browser_and_a_synthetic_client(veche: Veche) -> None:
    server = veche.server
    alice, bob, carol = veche.create_user("Alice Browser"), veche.create_user("Bob Synthetic"), veche.create_user()
    conference = veche.create_conference()
    bob_token = server.login(bob.login, bob.password)

    def calls() -> list[dict[str, Any]]:
        answer = server.api("GET", f"/api/v1/history?conference_id={conference['id']}", token=server.admin_token)
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    page = await veche.new_session()
    await page.login(alice, "/")
    address = await page.page.request.get(f"{veche.url}/api/v1/conferences/{conference['id']}")
    alice_joining = time.time()
    await page.page.goto(str((await address.json())["url"]))  # the page joins as it opens
    await page.wait_status("connected")
    alice_joined = time.time()

    ticket = server.api("POST", f"/api/v1/conferences/{conference['id']}/join", token=bob_token).json()
    synthetic = SyntheticParticipant("bob")
    bob_joining = time.time()
    await synthetic.connect(ticket["signaling_url"], ticket["ticket"])
    bob_joined = time.time()
    try:
        await synthetic.publish_camera()
        alice_id = await page.participant_id()
        await synthetic.wait_for_video(frames=10)  # Alice's camera reaches him, his reaches Alice
        await page.wait_figure_growth(str(synthetic.participant_id), "framesDecoded", by=10)
        assert alice_id

        # While the call runs, the history shows both in it with Janus's first figures (read every 5 s).
        async def running() -> list[dict[str, Any]]:
            return list(calls())

        def measured(found: list[dict[str, Any]]) -> bool:
            people = found[0]["participants"] if len(found) == 1 else []
            return len(people) == 2 and all(
                p["left_at"] is None and p["quality"]["bytes_in"] + p["quality"]["bytes_out"] > 0 for p in people
            )

        await eventually(running, measured, timeout=30, what="both in the running call, with media figures")
    finally:
        bob_leaving = time.time()
        await synthetic.close()
        bob_left = time.time()
    alice_leaving = time.time()
    await page.context.close()
    alice_left = time.time()

    async def probe() -> list[dict[str, Any]]:
        return calls()

    (call,) = await eventually(
        probe,
        lambda found: len(found) == 1 and found[0]["ended_at"] is not None and len(found[0]["participants"]) == 2,
        timeout=20,
        what="the ended call in the history",
    )
    people = {p["display_name"]: p for p in call["participants"]}
    assert set(people) == {"Alice Browser", "Bob Synthetic"}
    assert people["Alice Browser"]["user_id"] == alice.id and people["Alice Browser"]["kind"] == "browser"
    assert people["Bob Synthetic"]["user_id"] == bob.id and people["Bob Synthetic"]["kind"] == "api"
    assert people["Alice Browser"]["user_agent"].startswith("Mozilla/")
    for person, (joining, joined, leaving, left) in {
        "Alice Browser": (alice_joining, alice_joined, alice_leaving, alice_left),
        "Bob Synthetic": (bob_joining, bob_joined, bob_leaving, bob_left),
    }.items():
        entry = people[person]
        assert joining - TOLERANCE_S <= _instant(entry["joined_at"]) <= joined + TOLERANCE_S, person
        assert leaving - TOLERANCE_S <= _instant(entry["left_at"]) <= left + TOLERANCE_S, person
        # The stay the test saw lies between the shortest and the longest it can have been.
        shortest, longest = leaving - joined, left - joining
        assert shortest - TOLERANCE_S <= entry["duration_s"] <= longest + TOLERANCE_S, (
            person,
            entry,
            shortest,
            longest,
        )
        assert entry["closed_by"] == "app"
        # Janus's counters: each sent a camera and received the other's.
        quality = entry["quality"]
        assert quality["bytes_in"] > 1000 and quality["bytes_out"] > 1000, (person, quality)
        assert quality["bitrate_in_bps"] > 0 and 0 <= quality["loss_in"] < 0.5, (person, quality)
    assert alice_leaving - alice_joined - TOLERANCE_S <= call["duration_s"] <= alice_left - alice_joining + TOLERANCE_S

    # Alice finds it on her own history page; Carol, who was not in it, is told it does not exist.
    again = await veche.new_session()
    await again.login(alice, "/history")
    await again.page.goto(f"{veche.url}/history")
    row = again.page.locator(f'#history-calls tr[data-call="{call["id"]}"]')
    await row.wait_for(timeout=10_000)
    assert "Bob Synthetic" in (await row.text_content() or "")
    carol_token = server.login(carol.login, carol.password)
    refused = server.api("GET", f"/api/v1/history/{call['id']}", token=carol_token)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    assert "Alice" not in refused.text
    assert server.api("GET", "/api/v1/history", token=carol_token).json() == []
