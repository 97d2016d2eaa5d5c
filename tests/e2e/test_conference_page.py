"""The conference page as a person sees it: the call fills the window, the pre-join screen and its devices,
the camera and microphone problems and how to get out of them, the "You are presenting" banner.

Chromium's fake devices (Chromium 156, checked by hand): ``--use-fake-device-for-media-stream=device-count=3``
gives three cameras. ``fake_device_0`` and ``fake_device_2`` draw the same green picture; ``fake_device_1`` is a
depth camera (grey, 16-bit) whose frames WebRTC never encodes (0 frames encoded), so it cannot be sent. The
frames of the two sendable cameras do not tell them apart; their labels do: the test reads the label of the
track the publisher's camera connection sends, and that the other side decodes that feed. Without the fake device
flag a container has no camera and no microphone (``NotFoundError``); without ``--use-fake-ui-for-media-stream``
a context that was granted nothing is refused (``NotAllowedError``) until the test grants the permission.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from .browser import CHROMIUM, CHROMIUM_ARGS, BrowserSession, Veche, eventually

pytestmark = [pytest.mark.browser, pytest.mark.janus]

_FAKE_DEVICES = "--use-fake-device-for-media-stream"
_FAKE_PROMPT = "--use-fake-ui-for-media-stream"

# Colourfulness of the frames a <video> shows now: the mean of max(R,G,B) - min(R,G,B) over a small copy.
_SATURATION = """(selector) => {
    const video = document.querySelector(selector);
    if (!video || !video.videoWidth) return null;
    const canvas = document.createElement("canvas");
    canvas.width = 64;
    canvas.height = 36;
    const context = canvas.getContext("2d");
    context.drawImage(video, 0, 0, 64, 36);
    const px = context.getImageData(0, 0, 64, 36).data;
    let sum = 0;
    for (let i = 0; i < px.length; i += 4) {
        const [r, g, b] = [px[i], px[i + 1], px[i + 2]];
        sum += Math.max(r, g, b) - Math.min(r, g, b);
    }
    return sum / (px.length / 4);
}"""

# Boxes of the page's parts and the document's size, in CSS pixels.
_BOXES = """() => {
    const box = (el) => { if (!el) return null; const r = el.getBoundingClientRect();
        return { top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width, height: r.height,
                 visible: r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden" }; };
    return {
        viewport: { width: innerWidth, height: innerHeight },
        scroll: { height: document.documentElement.scrollHeight, width: document.documentElement.scrollWidth },
        stage: box(document.querySelector(".veche-stage")),
        controls: box(document.querySelector(".veche-controls")),
        chatInput: box(document.getElementById("chat-input")),
        tiles: [...document.querySelectorAll("#grid .tile")].map((t) => ({ source: t.dataset.source, ...box(t) })),
    };
}"""


def _chromium_args(*, fake_devices: str | None, fake_prompt: bool) -> list[str]:
    args = [a for a in CHROMIUM_ARGS if not a.startswith(_FAKE_DEVICES) and a != _FAKE_PROMPT]
    if fake_devices is not None:
        args.append(fake_devices)
    if fake_prompt:
        args.append(_FAKE_PROMPT)
    return args


@pytest.fixture(scope="module")
async def other_browsers() -> AsyncIterator[dict[str, Browser]]:
    """Chromiums with other devices: several cameras (permissions given by the test), and none at all."""
    async with async_playwright() as playwright:
        launched = {
            "cameras": await playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=_chromium_args(fake_devices=f"{_FAKE_DEVICES}=device-count=3", fake_prompt=False),
                headless=True,
            ),
            "no_devices": await playwright.chromium.launch(
                executable_path=CHROMIUM, args=_chromium_args(fake_devices=None, fake_prompt=True), headless=True
            ),
        }
        try:
            yield launched
        finally:
            for browser in launched.values():
                await browser.close()


def _inside(box: dict[str, Any] | None, viewport: dict[str, Any]) -> bool:
    return (
        box is not None
        and box["visible"]
        and box["top"] >= 0
        and box["left"] >= 0
        and box["bottom"] <= viewport["height"] + 0.5
        and box["right"] <= viewport["width"] + 0.5
    )


async def _boxes(page: Page) -> dict[str, Any]:
    boxes: dict[str, Any] = await page.evaluate(_BOXES)
    return boxes


async def _assert_fits(session: BrowserSession, *, chat: bool = True) -> dict[str, Any]:
    """Stage, controls (and chat input) inside the window, and nothing to scroll."""
    b = await _boxes(session.page)
    vp = b["viewport"]
    assert b["scroll"]["height"] <= vp["height"] and b["scroll"]["width"] <= vp["width"], b
    assert _inside(b["stage"], vp), b
    assert _inside(b["controls"], vp), b
    if chat:
        assert _inside(b["chatInput"], vp), b
    return b


def _camera_share(boxes: dict[str, Any]) -> float:
    """The part of the stage the camera tiles cover."""
    stage = boxes["stage"]
    covered = sum(t["width"] * t["height"] for t in boxes["tiles"] if t["source"] == "camera")
    return float(covered / (stage["width"] * stage["height"]))


async def _pair(veche: Veche, viewport: tuple[int, int]) -> tuple[BrowserSession, BrowserSession, str, str]:
    alice, bob = veche.create_user("Alice"), veche.create_user("Bob")
    conf = veche.create_conference()
    a = await veche.new_session(viewport=viewport)
    await a.open_conference(alice, conf["id"])
    b = await veche.new_session(viewport=viewport)
    await b.open_conference(bob, conf["id"])
    await a.wait_status("connected")
    await b.wait_status("connected")
    a_id, b_id = await a.participant_id(), await b.participant_id()
    assert a_id and b_id
    await a.page.locator(f'.tile[data-participant="{b_id}"][data-source="camera"]').wait_for()
    return a, b, a_id, b_id


async def test_the_call_fills_the_window_at_desktop_and_phone_sizes(veche: Veche) -> None:
    a, b, a_id, _ = await _pair(veche, (1280, 800))

    # Two people use the stage: their tiles cover most of it (not a strip at its top).
    boxes = await _assert_fits(a)
    assert _camera_share(boxes) >= 0.6, boxes

    # A screen share does not push the controls or the chat input out of the window, on either side;
    # the presenter is told, with a way to stop.
    await a.page.click("#btn-screen")
    banner = a.page.locator("#presenting")
    await banner.wait_for(state="visible", timeout=20_000)
    assert "You are presenting" in (await banner.text_content() or "")
    await b.page.locator(f'.tile[data-participant="{a_id}"][data-source="screen"]').wait_for(timeout=20_000)
    await b.wait_figure_growth(a_id, "framesDecoded", source="screen", by=5)
    for session in (a, b):
        await _assert_fits(session)
    screen = next(t for t in (await _boxes(b.page))["tiles"] if t["source"] == "screen")
    assert screen["height"] >= 0.5 * (await _boxes(b.page))["stage"]["height"]

    await a.page.click("#btn-stop-presenting")
    await banner.wait_for(state="hidden")
    await b.page.locator(f'.tile[data-participant="{a_id}"][data-source="screen"]').wait_for(state="detached")
    assert await a.page.get_attribute("#btn-screen", "aria-pressed") == "false"

    # A large monitor: the same.
    await a.page.set_viewport_size({"width": 1920, "height": 1080})
    await eventually(lambda: _boxes(a.page), lambda bx: _camera_share(bx) >= 0.6, what="tiles filling 1920x1080")
    await _assert_fits(a)

    # A phone: stage and controls fill the window; the chat is a panel opened from the controls.
    await a.page.set_viewport_size({"width": 390, "height": 844})
    await eventually(lambda: _boxes(a.page), lambda bx: _camera_share(bx) >= 0.6, what="tiles filling 390x844")
    await _assert_fits(a, chat=False)
    await a.page.click("#btn-side")
    await a.page.locator("#chat-input").wait_for(state="visible")
    await _assert_fits(a, chat=True)
    await a.page.fill("#chat-input", "from the phone")
    await a.page.press("#chat-input", "Enter")
    await b.page.locator("#chat-log .chat-message", has_text="from the phone").wait_for(timeout=10_000)


_SELF_LABEL = "() => document.querySelector('.tile.self video').srcObject.getVideoTracks()[0].label"


async def _camera_sent(session: BrowserSession) -> list[str]:
    labels: list[str] = await session.page.evaluate("() => window.vecheClient.cameraSenderLabels()")
    return labels


async def test_prejoin_chooses_another_camera_and_the_other_side_receives_it(
    veche: Veche, other_browsers: dict[str, Browser]
) -> None:
    cameras = other_browsers["cameras"]
    alice, bob = veche.create_user("Alice"), veche.create_user("Bob")
    conf = veche.create_conference()
    a = await veche.new_session(prejoin=True, browser=cameras, permissions=["camera", "microphone"])
    await a.open_conference(alice, conf["id"])

    # The pre-join screen: a preview of the default camera, every camera to choose from, a moving level meter.
    preview = "#prejoin-video"
    await eventually(lambda: a.page.evaluate(_SATURATION, preview), lambda s: s is not None and s > 60, what="preview")
    labels = await a.page.eval_on_selector_all("#prejoin-camera option", "os => os.map(o => o.textContent)")
    assert labels == ["fake_device_0", "fake_device_1", "fake_device_2"], labels
    preview_label = "() => document.getElementById('prejoin-video').srcObject.getVideoTracks()[0].label"
    assert await a.page.evaluate(preview_label) == "fake_device_0"
    await eventually(
        lambda: a.page.eval_on_selector("#prejoin-level", "m => m.value"), lambda v: v > 0, what="mic level"
    )
    speakers = await a.page.eval_on_selector_all("#prejoin-speaker option", "os => os.length")
    assert speakers >= 1 and await a.page.is_visible("#prejoin-speaker")

    # The depth camera shows in the preview (grey), then she settles on the third one.
    await a.page.select_option("#prejoin-camera", label="fake_device_1")
    await eventually(lambda: a.page.evaluate(_SATURATION, preview), lambda s: s is not None and s < 20, what="grey")
    await a.page.select_option("#prejoin-camera", label="fake_device_2")
    await eventually(lambda: a.page.evaluate(preview_label), lambda label: label == "fake_device_2", what="camera 2")
    await a.page.click("#prejoin-mic")  # join muted
    assert await a.page.get_attribute("#prejoin-mic", "aria-pressed") == "false"
    await a.page.click("#prejoin-join")
    await a.wait_status("connected")
    a_id = await a.participant_id()
    assert a_id
    assert await a.page.get_attribute("#btn-mic", "aria-pressed") == "false"
    assert await a.page.evaluate(_SELF_LABEL) == "fake_device_2"
    assert "fake_device_2" in await _camera_sent(a)

    # Bob receives her video from that camera (and is not told her microphone is on).
    b = await veche.new_session(browser=cameras, permissions=["camera", "microphone"])
    await b.open_conference(bob, conf["id"])
    await b.wait_status("connected")
    await b.wait_figure_growth(a_id, "framesDecoded", by=20)
    remote = f'.tile[data-participant="{a_id}"][data-source="camera"]'
    await eventually(
        lambda: b.page.evaluate(_SATURATION, f"{remote} video"),
        lambda s: s is not None and s > 60,
        what="Alice's picture on Bob's page",
    )
    mic = b.page.locator(f'#participants li[data-participant="{a_id}"] .participant-mic')
    assert await mic.get_attribute("data-state") == "off"

    # During the call she switches to the first camera: the same feed (no new offer) now carries it.
    feed = await b.page.get_attribute(remote, "data-feed")
    await a.page.click("#btn-devices")
    await a.page.locator("#call-camera option", has_text="fake_device_0").wait_for(state="attached")
    await a.page.select_option("#call-camera", label="fake_device_0")
    await eventually(lambda: _camera_sent(a), lambda sent: "fake_device_0" in sent, what="camera 0 sent")
    assert await a.page.evaluate(_SELF_LABEL) == "fake_device_0"
    await b.wait_figure_growth(a_id, "framesDecoded", by=20)
    assert await b.page.get_attribute(remote, "data-feed") == feed


async def test_permission_denied_says_how_to_fix_it_and_try_again_works(
    veche: Veche, other_browsers: dict[str, Browser]
) -> None:
    alice = veche.create_user("Alice")
    conf = veche.create_conference()
    a = await veche.new_session(prejoin=True, browser=other_browsers["cameras"], permissions=[])
    await a.open_conference(alice, conf["id"])

    problem = a.page.locator("#prejoin .device-problem")
    await problem.wait_for(state="visible")
    text = await problem.text_content() or ""
    assert "not allowed to use your camera and microphone" in text and "Try again" in text, text
    assert await problem.get_attribute("data-camera") == "not_allowed"
    assert not await a.page.is_disabled("#prejoin-join")

    # The person allows the site in the browser, then clicks "Try again": the preview appears, no reload.
    await a.page.evaluate("() => { window.__samePage = true; }")
    await a.context.grant_permissions(["camera", "microphone"], origin=veche.url)
    await a.page.click("#prejoin .btn-devices-retry")
    await eventually(
        lambda: a.page.evaluate(_SATURATION, "#prejoin-video"), lambda s: s is not None and s > 60, what="preview"
    )
    await problem.wait_for(state="hidden")
    assert await a.page.evaluate("() => window.__samePage === true")
    await a.page.click("#prejoin-join")
    await a.wait_status("connected")
    assert await a.page.get_attribute("#btn-mic", "aria-pressed") == "true"


async def test_no_camera_says_so_and_the_person_joins_without_showing_mic_on(
    veche: Veche, other_browsers: dict[str, Browser]
) -> None:
    alice, bob = veche.create_user("Alice"), veche.create_user("Bob")
    conf = veche.create_conference()
    b = await veche.user_in_conference(bob, conf["id"])
    await b.wait_status("connected")
    a = await veche.new_session(prejoin=True, browser=other_browsers["no_devices"])
    await a.open_conference(alice, conf["id"])

    problem = a.page.locator("#prejoin .device-problem")
    await problem.wait_for(state="visible")
    text = await problem.text_content() or ""
    assert "No camera or microphone was found" in text and "not allowed" not in text, text
    assert await problem.get_attribute("data-camera") == "not_found"

    # "Try again" asks again and keeps saying what is wrong; it does not stay disabled.
    await a.page.click("#prejoin .btn-devices-retry")
    await eventually(lambda: a.page.is_enabled("#prejoin .btn-devices-retry"), lambda ok: ok, what="retry enabled")
    await problem.wait_for(state="visible")

    await a.page.click("#prejoin .btn-without-camera")
    await a.wait_status("connected")
    a_id = await a.participant_id()
    assert a_id

    # Neither Alice nor Bob is told her microphone is on; her buttons stay usable (they ask again).
    assert await a.page.get_attribute("#btn-mic", "aria-pressed") == "false"
    assert not await a.page.is_disabled("#btn-mic")
    assert not await a.page.is_disabled("#btn-cam")
    mic = b.page.locator(f'#participants li[data-participant="{a_id}"] .participant-mic')
    await eventually(lambda: mic.get_attribute("data-state"), lambda s: s == "off", what="Alice's mic off for Bob")
    assert (await mic.text_content() or "") != "mic on"


async def test_in_the_call_try_again_publishes_the_camera_once_allowed(
    veche: Veche, other_browsers: dict[str, Browser]
) -> None:
    alice, bob = veche.create_user("Alice"), veche.create_user("Bob")
    conf = veche.create_conference()
    b = await veche.user_in_conference(bob, conf["id"])
    await b.wait_status("connected")
    # Alice joins directly (no pre-join screen) from a browser that was not allowed her devices.
    a = await veche.new_session(browser=other_browsers["cameras"], permissions=[])
    await a.open_conference(alice, conf["id"])
    await a.wait_status("connected")
    a_id = await a.participant_id()
    assert a_id

    problem = a.page.locator(".call-alerts .device-problem")
    await problem.wait_for(state="visible")
    assert "not allowed to use your camera and microphone" in (await problem.text_content() or "")
    assert await a.page.get_attribute("#btn-mic", "aria-pressed") == "false"
    assert not await a.page.is_disabled("#btn-cam")
    mic = b.page.locator(f'#participants li[data-participant="{a_id}"] .participant-mic')
    await eventually(lambda: mic.get_attribute("data-state"), lambda s: s == "off", what="Alice's mic off for Bob")

    await a.context.grant_permissions(["camera", "microphone"], origin=veche.url)
    await a.page.click(".call-alerts .btn-devices-retry")
    await problem.wait_for(state="hidden")
    await a.page.locator(".tile.self video").wait_for()
    assert await a.page.get_attribute("#btn-mic", "aria-pressed") == "true"
    assert await a.participant_id() == a_id  # the same session: no reload, no rejoin
    await b.wait_figure_growth(a_id, "framesDecoded", by=20)
    await eventually(lambda: mic.get_attribute("data-state"), lambda s: s == "on", what="Alice's mic on for Bob")
