"""The tiles and in-call conveniences in a real Chromium against the real server and Janus: the participant
count and "only one here", speaking rings and levels, pin and full screen, the unread chat badge, keyboard
shortcuts, initials on camera-off tiles and copying the invite link."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page

from .browser import BrowserSession, UserAccount, Veche, eventually, layer_settles_at

pytestmark = [pytest.mark.browser, pytest.mark.janus]


async def _join(veche: Veche, account: UserAccount, conference: dict[str, Any]) -> tuple[BrowserSession, str]:
    session = await veche.user_in_conference(account, conference["id"])
    await session.wait_status("connected")
    pid = await session.participant_id()
    assert pid
    return session, pid


async def _pair(
    veche: Veche, a_name: str = "Alice", b_name: str = "Bob", **conference: object
) -> tuple[BrowserSession, BrowserSession, str, str]:
    conf = veche.create_conference(**conference)
    a, a_id = await _join(veche, veche.create_user(a_name), conf)
    b, b_id = await _join(veche, veche.create_user(b_name), conf)
    return a, b, a_id, b_id


def _tile(participant: str) -> str:
    return f'.tile[data-participant="{participant}"][data-source="camera"]'


async def _text(page: Page, selector: str) -> str:
    return ((await page.text_content(selector)) or "").strip()


async def test_count_and_alone_message_follow_who_is_here(veche: Veche) -> None:
    conf = veche.create_conference()
    a, _ = await _join(veche, veche.create_user("Alice"), conf)
    alone = a.page.locator("#alone")
    await eventually(lambda: _text(a.page, "#participant-count"), lambda t: t == "1 person", what="count 1")
    assert await alone.is_visible()
    assert "You are the only one here" in await _text(a.page, "#alone")
    # The link offered is the conference's page (guests may not come to this one).
    assert await _text(a.page, "#alone .alone-link") == conf["url"]
    assert await alone.locator(".btn-invite").is_visible()

    b, _ = await _join(veche, veche.create_user("Bob"), conf)
    await eventually(lambda: _text(a.page, "#participant-count"), lambda t: t == "2 people", what="count 2 (Alice)")
    await alone.wait_for(state="hidden")
    assert await _text(b.page, "#participant-count") == "2 people"
    assert not await b.page.locator("#alone").is_visible()

    await b.page.click("#btn-leave")
    await eventually(lambda: _text(a.page, "#participant-count"), lambda t: t == "1 person", what="count back to 1")
    await alone.wait_for(state="visible")


async def test_copy_invite_link_puts_the_guests_link_on_the_clipboard(veche: Veche) -> None:
    conf = veche.create_conference(guests_allowed=True)
    session = await veche.new_session()
    await session.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=veche.url)
    await session.open_conference(veche.create_user("Alice"), conf["id"])
    await session.wait_status("connected")

    await session.page.click(".header-invite .btn-invite")
    await session.page.locator(".header-invite .invite-feedback", has_text="Link copied").wait_for()
    copied = await session.page.evaluate("() => navigator.clipboard.readText()")
    assert copied == conf["invite_url"]
    assert copied.endswith(f"/join/{conf['invite_code']}")


async def test_copy_invite_link_shows_the_link_when_the_clipboard_is_refused(veche: Veche) -> None:
    conf = veche.create_conference()
    # A browser that refuses both clipboard ways: the link is shown, selected, to copy by hand.
    refuse = """
        Object.defineProperty(Navigator.prototype, "clipboard", { get: () => ({
            writeText: () => Promise.reject(new DOMException("denied", "NotAllowedError")) }) });
        Document.prototype.execCommand = () => false;
    """
    session = await veche.new_session(init_script=refuse)
    await session.open_conference(veche.create_user("Alice"), conf["id"])
    await session.wait_status("connected")

    await session.page.click(".header-invite .btn-invite")
    manual = session.page.locator(".header-invite .invite-manual")
    await manual.wait_for(state="visible")
    assert await manual.input_value() == conf["url"]
    assert await session.page.evaluate("() => document.activeElement.classList.contains('invite-manual')")


async def test_speaker_gets_a_ring_and_a_level_and_a_muted_one_does_not(veche: Veche) -> None:
    a, b, a_id, b_id = await _pair(veche)
    # The fake microphones beep: each page sees the other speaking, with a level on the tile, and its own level.
    for session, other in ((a, b_id), (b, a_id)):
        await session.page.locator(f"{_tile(other)}.speaking").wait_for(timeout=20_000)
        await session.page.locator(f'{_tile(other)} .tile-level:not([data-level="0"])').wait_for()
        await session.page.locator('.tile.self .tile-level:not([data-level="0"])').wait_for()

    await a.page.click("#btn-mic")
    await eventually(
        lambda: b.page.locator(f"{_tile(a_id)}.speaking").count(), lambda n: n == 0, what="Alice's ring to go"
    )
    assert await b.page.locator(f'{_tile(a_id)} .tile-level[data-level="0"]').count() == 1
    # Bob still speaks.
    await a.page.locator(f"{_tile(b_id)}.speaking").wait_for()


async def test_pinned_tile_takes_the_big_area(veche: Veche) -> None:
    a, b, _, b_id = await _pair(veche)
    bob_tile = a.page.locator(_tile(b_id))
    own_tile = a.page.locator(".tile.self")
    await bob_tile.wait_for()
    before = await bob_tile.bounding_box()
    assert before is not None

    await bob_tile.hover()
    await bob_tile.locator(".tile-pin").click()
    assert await bob_tile.locator(".tile-pin").get_attribute("aria-pressed") == "true"

    async def boxes() -> tuple[Any, Any]:
        return await bob_tile.bounding_box(), await own_tile.bounding_box()

    big, small = await eventually(
        boxes,
        lambda b: b[0] is not None and b[1] is not None and b[0]["width"] > 2 * b[1]["width"],
        what="Bob's tile several times wider than mine",
    )
    assert big["y"] + big["height"] <= small["y"] + 1  # the others are in a strip under it
    assert big["width"] > before["width"]
    # The big tile asks for the highest simulcast layer.
    await layer_settles_at(a, b, b_id, 2)

    await bob_tile.locator(".tile-pin").click()
    await eventually(
        boxes,
        lambda b: b[0] is not None and b[1] is not None and abs(b[0]["width"] - b[1]["width"]) < 2,
        what="tiles of equal size again",
    )


async def test_tile_goes_full_screen(veche: Veche) -> None:
    a, _, _, b_id = await _pair(veche)
    bob_tile = a.page.locator(_tile(b_id))
    await bob_tile.hover()
    await bob_tile.locator(".tile-fullscreen").click()
    full = "() => document.fullscreenElement && document.fullscreenElement.dataset.participant"
    await eventually(lambda: a.page.evaluate(full), lambda v: v == b_id, what="Bob's tile full screen")
    await bob_tile.locator(".tile-fullscreen").click()
    await eventually(lambda: a.page.evaluate(full), lambda v: not v, what="full screen left")


async def _say(session: BrowserSession, text: str) -> None:
    await session.page.fill("#chat-input", text)
    await session.page.press("#chat-input", "Enter")
    await eventually(lambda: session.page.input_value("#chat-input"), lambda v: v == "", what=f"{text!r} sent")


async def test_unread_badge_counts_while_the_chat_is_hidden_or_scrolled_away(veche: Veche) -> None:
    conf = veche.create_conference()
    a, _ = await _join(veche, veche.create_user("Alice"), conf)
    # Bob is on a phone: the chat is a panel opened with the "Chat" button.
    b = await veche.new_session(viewport=(390, 844))
    await b.open_conference(veche.create_user("Bob"), conf["id"])
    await b.wait_status("connected")
    chat_button = b.page.locator("#btn-side")
    button_badge = chat_button.locator(".chat-unread")
    assert not await b.page.locator("#chat-log").is_visible()

    await _say(a, "first")
    await _say(a, "second")
    await eventually(lambda: button_badge.text_content(), lambda t: t == "2", what="badge 2 on the Chat button")
    assert await button_badge.get_attribute("aria-label") == "2 unread messages"
    assert await chat_button.get_attribute("aria-label") == "Chat, 2 unread messages"
    await chat_button.click()
    await b.page.locator("#chat-log .chat-message", has_text="second").wait_for()
    await button_badge.wait_for(state="hidden")
    assert await chat_button.get_attribute("aria-label") == "Chat"
    assert not await b.page.locator("#chat-title .chat-unread").is_visible()

    # Alice reads as messages come: no badge; scrolled back to older ones, new ones count until she is at the end.
    badge = a.page.locator("#chat-title .chat-unread")
    # Eight tall messages and one more stay within the chat's rate limit (a burst of 10, docs/protocol.md).
    for i in range(8):
        await _say(b, f"filler {i} " + " ".join(f"word{n}" for n in range(60)))  # wraps over several lines
    log = a.page.locator("#chat-log")
    await log.locator(".chat-message", has_text="filler 7").wait_for()
    assert await log.evaluate("log => log.scrollHeight > log.clientHeight + 100"), "the log should scroll"
    assert not await badge.is_visible()
    await log.hover()
    await a.page.mouse.wheel(0, -5000)
    await eventually(lambda: log.evaluate("log => log.scrollTop"), lambda top: top == 0, what="log scrolled up")
    await _say(b, "while away")
    await eventually(lambda: badge.text_content(), lambda t: t == "1", what="badge 1 in the chat heading")
    await a.page.mouse.wheel(0, 10000)
    await badge.wait_for(state="hidden")
    # One's own messages are never unread.
    await a.page.mouse.wheel(0, -5000)
    await _say(a, "mine")
    await log.locator(".chat-message", has_text="mine").wait_for()
    assert not await badge.is_visible()


async def test_shortcuts_toggle_mute_and_camera_but_not_while_typing(veche: Veche) -> None:
    a, b, a_id, _ = await _pair(veche)
    mic = a.page.locator("#btn-mic")
    bob_sees_alice = b.page.locator(f'#participants li[data-participant="{a_id}"] .participant-mic')
    assert await mic.get_attribute("aria-pressed") == "true"
    assert await mic.get_attribute("aria-keyshortcuts") == "Control+D Meta+D"

    await a.page.locator("body").click(position={"x": 5, "y": 5})
    await a.page.keyboard.press("Control+d")
    await eventually(lambda: mic.get_attribute("aria-pressed"), lambda v: v == "false", what="mic off by Ctrl+D")
    await eventually(lambda: bob_sees_alice.get_attribute("data-state"), lambda v: v == "off", what="Bob sees muted")
    await b.page.locator(f"{_tile(a_id)}.muted").wait_for()

    await a.page.keyboard.press("Control+d")
    await eventually(lambda: mic.get_attribute("aria-pressed"), lambda v: v == "true", what="mic on by Ctrl+D")
    await eventually(lambda: bob_sees_alice.get_attribute("data-state"), lambda v: v == "on", what="Bob sees unmuted")

    # Typing in the chat: the keys go to the text, the microphone stays as it is.
    await a.page.click("#chat-input")
    await a.page.keyboard.type("dear Bob")
    await a.page.keyboard.press("Control+d")
    await a.page.keyboard.press("Control+e")
    assert await a.page.input_value("#chat-input") == "dear Bob"
    await _say(a, "dear Bob")
    await b.page.locator("#chat-log .chat-message", has_text="dear Bob").wait_for()
    assert await mic.get_attribute("aria-pressed") == "true"
    assert await a.page.get_attribute("#btn-cam", "aria-pressed") == "true"
    assert await bob_sees_alice.get_attribute("data-state") == "on"

    # Ctrl+E: the camera; "?" lists the shortcuts.
    await a.page.locator("body").click(position={"x": 5, "y": 5})
    await a.page.keyboard.press("Control+e")
    await eventually(
        lambda: a.page.get_attribute("#btn-cam", "aria-pressed"), lambda v: v == "false", what="camera off by Ctrl+E"
    )
    await a.page.keyboard.press("?")
    help_dialog = a.page.locator("dialog.shortcuts-help")
    await help_dialog.wait_for(state="visible")
    assert "Ctrl+D" in await _text(a.page, "dialog.shortcuts-help")
    await a.page.keyboard.press("Escape")
    await help_dialog.wait_for(state="hidden")


async def test_camera_off_tile_shows_initials(veche: Veche) -> None:
    a, b, a_id, _ = await _pair(veche, a_name="Ada Lovelace")
    alice_tile = b.page.locator(_tile(a_id))
    await alice_tile.wait_for()
    assert not await alice_tile.locator(".tile-avatar").is_visible()

    await a.page.click("#btn-cam")
    avatar = alice_tile.locator(".tile-avatar")
    await avatar.wait_for(state="visible")
    assert (await avatar.text_content() or "").strip() == "AL"
    # Not a black box: the disc has a colour of its own.
    colour = await avatar.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour not in ("rgb(0, 0, 0)", "rgba(0, 0, 0, 0)"), colour
    assert await a.page.locator(".tile.self .tile-avatar").is_visible()

    await a.page.click("#btn-cam")
    await avatar.wait_for(state="hidden")


async def test_controls_are_icons_with_fixed_names_and_a_visible_focus_ring(veche: Veche) -> None:
    a, _, _, b_id = await _pair(veche)
    names = {
        "#btn-mic": "Microphone",
        "#btn-cam": "Camera",
        "#btn-screen": "Share screen",
        "#btn-leave": "Leave",
        "#btn-shortcuts": "Keyboard shortcuts",
    }
    for selector, name in names.items():
        button = a.page.locator(selector)
        assert await button.get_attribute("aria-label") == name, selector
    for selector in ("#btn-mic", "#btn-cam", "#btn-screen", "#btn-leave"):
        assert await a.page.locator(f"{selector} svg").count() >= 1, f"{selector} has no icon"
    # The name stays; the state is aria-pressed (and the icon: a microphone with a slash).
    await a.page.click("#btn-mic")
    await eventually(lambda: a.page.get_attribute("#btn-mic", "aria-pressed"), lambda v: v == "false", what="mic off")
    assert await a.page.get_attribute("#btn-mic", "aria-label") == "Microphone"
    assert await a.page.locator("#btn-mic .icon-off").is_visible()
    assert not await a.page.locator("#btn-mic .icon-on").is_visible()
    pin = a.page.locator(f"{_tile(b_id)} .tile-pin")
    assert await pin.get_attribute("aria-label") == "Pin Bob"
    assert await a.page.get_attribute(f"{_tile(b_id)} .tile-fullscreen", "aria-label") == "Show Bob full screen"

    # Reaching a control by keyboard draws a focus ring.
    await a.page.locator("#btn-mic").focus()
    await a.page.keyboard.press("Tab")
    await a.page.keyboard.press("Shift+Tab")
    outline = await a.page.locator("#btn-mic").evaluate(
        "el => [el.matches(':focus-visible'), getComputedStyle(el).outlineStyle, getComputedStyle(el).outlineWidth]"
    )
    assert outline[0] and outline[1] != "none" and outline[2] != "0px", outline
