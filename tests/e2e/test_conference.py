"""The browser client against the real server and Janus: what two people in a call would notice."""

from __future__ import annotations

import asyncio
import os
import re
import signal

import pytest
from playwright.async_api import WebSocketRoute

from .browser import BrowserSession, Veche, eventually, layer_settles_at

pytestmark = [pytest.mark.browser, pytest.mark.janus]


async def _pair(veche: Veche, **conference: object) -> tuple[BrowserSession, BrowserSession, str, str]:
    """Two users in a new conference, both connected; returns their sessions and participant ids."""
    alice, bob = veche.create_user("Alice"), veche.create_user("Bob")
    conf = veche.create_conference(**conference)
    a = await veche.user_in_conference(alice, conf["id"])
    b = await veche.user_in_conference(bob, conf["id"])
    await a.wait_status("connected")
    await b.wait_status("connected")
    a_id, b_id = await a.participant_id(), await b.participant_id()
    assert a_id and b_id
    return a, b, a_id, b_id


async def test_two_users_see_and_hear_each_other(veche: Veche) -> None:
    a, b, a_id, b_id = await _pair(veche)

    # Each page shows the other's camera tile, and decodes its video and receives its audio.
    await b.page.wait_for_selector(f'.tile[data-participant="{a_id}"][data-source="camera"] video')
    await a.page.wait_for_selector(f'.tile[data-participant="{b_id}"][data-source="camera"] video')
    await a.wait_figure_growth(b_id, "framesDecoded", by=30)
    await b.wait_figure_growth(a_id, "framesDecoded", by=30)
    await a.wait_figure_growth(b_id, "audioPacketsReceived", by=50)
    await b.wait_figure_growth(a_id, "audioPacketsReceived", by=50)

    # Both are listed, each with their own preview.
    for session, other in ((a, b_id), (b, a_id)):
        await session.page.wait_for_selector(f'#participants li[data-participant="{other}"]')
        assert await session.page.locator(".tile.self video").count() == 1


async def test_chat_message_arrives_on_the_other_page(veche: Veche) -> None:
    a, b, _, _ = await _pair(veche)
    text = "Hello <b>Bob</b> & all"

    await a.page.fill("#chat-input", text)
    await a.page.press("#chat-input", "Enter")

    message = b.page.locator("#chat-log .chat-message", has_text="Hello")
    await message.wait_for(timeout=10_000)
    assert text in (await message.text_content() or "")
    assert "Alice" in (await message.text_content() or "")
    # User text is never parsed as HTML.
    assert await b.page.locator("#chat-log .chat-message b").count() == 0
    assert await a.page.input_value("#chat-input") == ""


async def test_guest_joins_by_invite_link(veche: Veche) -> None:
    host = veche.create_user("Host")
    conf = veche.create_conference(guests_allowed=True)
    h = await veche.user_in_conference(host, conf["id"])
    await h.wait_status("connected")
    host_id = await h.participant_id()

    guest = await veche.new_session()
    await guest.page.goto(f"{veche.url}/join/{conf['invite_code']}")
    await guest.page.fill("#guest-name", "Visiting Guest")
    await guest.page.click("#guest-join")
    await guest.wait_status("connected")
    guest_id = await guest.participant_id()
    assert guest_id

    await h.page.locator(f'#participants li[data-participant="{guest_id}"]', has_text="Visiting Guest").wait_for()
    assert host_id
    await guest.wait_figure_growth(host_id, "framesDecoded", by=20)
    await h.wait_figure_growth(guest_id, "framesDecoded", by=20)


async def test_guest_is_refused_where_guests_are_not_allowed(veche: Veche) -> None:
    conf = veche.create_conference(guests_allowed=False)
    guest = await veche.new_session()
    await guest.page.goto(f"{veche.url}/join/{conf['invite_code']}")
    if await guest.page.locator("#veche-app").count() == 0:
        pytest.fail("the invite page of a conference without guests should still load the client")
    await guest.page.fill("#guest-name", "Uninvited Guest")
    await guest.page.click("#guest-join")

    error = guest.page.locator("#veche-error")
    await error.wait_for(state="visible", timeout=10_000)
    assert (await error.get_attribute("role")) == "alert"
    # The page shows the server's own explanation.
    refusal = veche.server.api("POST", f"/api/v1/invites/{conf['invite_code']}/join", json={"display_name": "X"})
    assert refusal.status_code == 403, refusal.text
    assert (await error.text_content() or "").strip() == refusal.json()["error"]["message"]
    assert not await guest.page.locator("#btn-mic").is_visible()
    assert not await guest.page.locator(".tile").count()


async def test_user_not_invited_sees_no_more_than_for_a_conference_that_does_not_exist(veche: Veche) -> None:
    invited, outsider = veche.create_user("Invited"), veche.create_user("Outsider")
    conf = veche.create_conference(name="Board private", access="invited", invited=[invited.id])
    session = await veche.new_session()
    await session.login(outsider, "/")
    answer = await session.page.goto(conf["url"])  # a link he was sent, or guessed
    assert answer is not None and answer.status == 404
    text = await session.page.text_content("body") or ""
    assert "does not exist or you may not see it" in text and "Board private" not in text
    assert not await session.page.locator("#btn-mic").is_visible()
    token = veche.server.login(outsider.login, outsider.password)
    refusal = veche.server.api("POST", f"/api/v1/conferences/{conf['id']}/join", token=token, json={})
    assert refusal.status_code == 404 and "Board private" not in refusal.text


async def test_screen_share_reaches_the_other_side(veche: Veche) -> None:
    a, b, a_id, _ = await _pair(veche)

    await a.page.click("#btn-screen")
    await eventually(
        lambda: a.page.get_attribute("#btn-screen", "aria-pressed"), lambda v: v == "true", what="screen share on"
    )
    screen_tile = b.page.locator(f'.tile[data-participant="{a_id}"][data-source="screen"]')
    await screen_tile.wait_for(timeout=20_000)
    await b.wait_figure_growth(a_id, "framesDecoded", source="screen", by=5)

    # Stopping the share removes the tile on the other side.
    await a.page.click("#btn-screen")
    await screen_tile.wait_for(state="detached", timeout=20_000)
    assert await a.page.get_attribute("#btn-screen", "aria-pressed") == "false"


async def test_moderator_mutes_a_participant(veche: Veche) -> None:
    moderator, speaker = veche.create_user("Moderator"), veche.create_user("Speaker")
    conf = veche.create_conference(moderators=[moderator.id])
    m = await veche.user_in_conference(moderator, conf["id"])
    s = await veche.user_in_conference(speaker, conf["id"])
    await m.wait_status("connected")
    await s.wait_status("connected")
    s_id = await s.participant_id()
    assert s_id
    assert await s.page.get_attribute("#btn-mic", "aria-pressed") == "true"
    await m.wait_figure_growth(s_id, "audioPacketsReceived", by=50)

    await m.page.click(f'#participants li[data-participant="{s_id}"] .btn-mute')

    await eventually(
        lambda: s.page.get_attribute("#btn-mic", "aria-pressed"), lambda v: v == "false", what="#btn-mic off"
    )
    await m.page.locator(f'#participants li[data-participant="{s_id}"] .participant-mic[data-state="off"]').wait_for()

    # The moderator's page stops receiving the speaker's audio (after packets in flight have arrived).
    async def audio_packets() -> int:
        entry = await m.feed_figures(s_id)
        return int(entry["audioPacketsReceived"]) if entry else -1

    async def growth_over_two_seconds() -> int:
        before = await audio_packets()
        await asyncio.sleep(2)
        return await audio_packets() - before

    await eventually(growth_over_two_seconds, lambda grew: grew <= 2, timeout=20, what="audio to stop flowing")


async def test_media_engine_crash_recovers(veche: Veche) -> None:
    a, b, a_id, b_id = await _pair(veche)
    await a.wait_figure_growth(b_id, "framesDecoded", by=20)
    await b.wait_figure_growth(a_id, "framesDecoded", by=20)

    for session in (a, b):
        await session.record_statuses()
    old_pid = veche.server.janus_pid()
    os.kill(old_pid, signal.SIGKILL)

    # Both pages say "reconnecting…" (perhaps briefly), then "connected" again.
    for session in (a, b):
        history = await eventually(
            session.status_history,
            lambda h: "reconnecting…" in h and h[-1] == "connected" and h.index("reconnecting…") < len(h) - 1,
            timeout=60,
            what="reconnecting… then connected",
        )
        assert history[0] == "connected", history
    assert veche.server.janus_pid() != old_pid

    # The participants got new feeds; each page decodes the other's video again.
    await a.wait_figure_growth(b_id, "framesDecoded", by=30, timeout=40)
    await b.wait_figure_growth(a_id, "framesDecoded", by=30, timeout=40)


async def test_simulcast_layer_follows_the_tile_size(veche: Veche) -> None:
    a, b, _, b_id = await _pair(veche)
    await layer_settles_at(a, b, b_id, 1)  # two tiles side by side at 1280x800: 400-800 px wide, 640x360
    await a.page.set_viewport_size({"width": 380, "height": 800})
    await layer_settles_at(a, b, b_id, 0)  # a phone-sized window: tiles under 400 px get 320x180
    await a.page.set_viewport_size({"width": 2000, "height": 1100})
    await layer_settles_at(a, b, b_id, 2)  # tiles of 800 px and more: the full 1280x720 layer


async def test_listener_in_a_moderated_conference_only_receives(veche: Veche) -> None:
    moderator, listener = veche.create_user("Chair"), veche.create_user("Audience")
    conf = veche.create_conference(type="moderated", moderators=[moderator.id])
    m = await veche.user_in_conference(moderator, conf["id"])
    audience = await veche.user_in_conference(listener, conf["id"])
    await m.wait_status("connected")
    await audience.wait_status("connected")
    m_id = await m.participant_id()
    assert m_id

    await audience.wait_figure_growth(m_id, "framesDecoded", by=20)
    assert await audience.page.is_disabled("#btn-mic")
    assert await audience.page.is_disabled("#btn-cam")
    assert await audience.page.is_disabled("#btn-screen")
    assert await audience.page.locator(".tile.self").count() == 0
    # The moderator receives nothing from a listener.
    assert await m.inbound() == []


async def test_moderator_removes_a_participant(veche: Veche) -> None:
    moderator, other = veche.create_user("Chair"), veche.create_user("Heckler")
    conf = veche.create_conference(moderators=[moderator.id])
    m = await veche.user_in_conference(moderator, conf["id"])
    h = await veche.user_in_conference(other, conf["id"])
    await m.wait_status("connected")
    await h.wait_status("connected")
    h_id = await h.participant_id()
    await m.page.locator(f'.tile[data-participant="{h_id}"]').wait_for()

    await m.page.click(f'#participants li[data-participant="{h_id}"] .btn-remove')

    await h.wait_status("removed", timeout=10)
    assert "removed you" in (await h.page.text_content(".veche-ended") or "")
    await m.page.locator(f'#participants li[data-participant="{h_id}"]').wait_for(state="detached")
    await m.page.locator(f'.tile[data-participant="{h_id}"]').wait_for(state="detached")
    # Removed means removed: the page does not reconnect by itself.
    await asyncio.sleep(1.5)
    assert await h.status() == "removed"


async def test_leaving_ends_the_call_for_me_only(veche: Veche) -> None:
    a, b, a_id, b_id = await _pair(veche)
    await b.page.locator(f'.tile[data-participant="{a_id}"]').wait_for()
    await a.page.evaluate("() => { window.__camera = document.querySelector('.tile.self video').srcObject; }")

    await a.page.click("#btn-leave")

    await a.wait_status("left", timeout=10)
    await b.page.locator(f'#participants li[data-participant="{a_id}"]').wait_for(state="detached")
    await b.page.locator(f'.tile[data-participant="{a_id}"]').wait_for(state="detached")
    assert await b.status() == "connected"
    # My camera and microphone are released when I leave.
    states = await a.page.evaluate("() => window.__camera.getTracks().map(t => t.readyState)")
    assert states and all(state == "ended" for state in states), states
    assert await a.page.locator(".tile").count() == 0


async def test_signaling_drop_reconnects_and_media_resumes(veche: Veche) -> None:
    alice, bob = veche.create_user("Alice"), veche.create_user("Bob")
    conf = veche.create_conference()
    # Page a's signaling goes through Playwright, which can cut it like a broken network would.
    a = await veche.new_session()
    links: list[tuple[WebSocketRoute, WebSocketRoute]] = []

    def relay(page_side: WebSocketRoute) -> None:
        links.append((page_side, page_side.connect_to_server()))

    await a.page.route_web_socket(re.compile(r"/ws/"), relay)
    await a.open_conference(alice, conf["id"])
    b = await veche.user_in_conference(bob, conf["id"])
    await a.wait_status("connected")
    await b.wait_status("connected")
    a_id = await a.participant_id()
    assert a_id
    await b.wait_figure_growth(a_id, "framesDecoded", by=20)
    await a.record_statuses()

    page_side, server_side = links[-1]
    await server_side.close(code=1001, reason="network trouble")
    await page_side.close(code=1001, reason="network trouble")

    await eventually(
        a.status_history,
        lambda h: "reconnecting…" in h and h[-1] == "connected" and h.index("reconnecting…") < len(h) - 1,
        timeout=30,
        what="reconnecting… then connected",
    )
    assert len(links) >= 2, "the page opened a new socket"
    # It joined again as a new participant: b drops the old one, then decodes the new one's video.
    new_id = await a.participant_id()
    assert new_id and new_id != a_id
    await b.page.locator(f'#participants li[data-participant="{a_id}"]').wait_for(state="detached")
    await b.wait_figure_growth(new_id, "framesDecoded", by=20, timeout=30)
    b_id = await b.participant_id()
    assert b_id
    await a.wait_figure_growth(b_id, "framesDecoded", by=20, timeout=30)
