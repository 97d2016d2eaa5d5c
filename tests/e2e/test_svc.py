"""VP9 SVC conferences in real Chromium pages: layers chosen by tile size, and a VP8-only browser's experience."""

from __future__ import annotations

import pytest

from .browser import BrowserSession, Veche, layer_settles_at

pytestmark = [pytest.mark.browser, pytest.mark.janus]

# A browser that can neither decode nor send VP9 (as an old or restricted one would report itself).
VP8_ONLY_BROWSER = """
for (const cls of [window.RTCRtpReceiver, window.RTCRtpSender]) {
  if (!cls || !cls.getCapabilities) continue;
  const original = cls.getCapabilities.bind(cls);
  cls.getCapabilities = (kind) => {
    const capabilities = original(kind);
    if (capabilities && kind === "video") {
      capabilities.codecs = capabilities.codecs.filter((c) => !/vp9/i.test(c.mimeType));
    }
    return capabilities;
  };
}
"""


async def _in_conference(veche: Veche, name: str, conference_id: int, **options: str) -> tuple[BrowserSession, str]:
    session = await veche.user_in_conference(veche.create_user(name), conference_id, **options)
    await session.wait_status("connected")
    participant = await session.participant_id()
    assert participant
    return session, participant


async def test_vp9_svc_spatial_layer_follows_the_tile_size(veche: Veche) -> None:
    conference = veche.create_conference(video_codec="vp9")
    assert conference["video_codec"] == "vp9"
    a, _ = await _in_conference(veche, "Alice", conference["id"])
    b, b_id = await _in_conference(veche, "Bob", conference["id"])

    # Both cameras go out as one VP9 encoding with 3 spatial x 3 temporal layers, and arrive as VP9.
    for session in (a, b):
        assert await session.page.evaluate("() => window.vecheClient.cameraScalabilityMode()") == "L3T3_KEY"
    await a.wait_figure_growth(b_id, "framesDecoded", by=30)
    assert (await a.feed_figures(b_id) or {}).get("videoCodec") == "vp9"

    # Two tiles side by side at 1280x800 are 400-800 px wide: the middle spatial layer (640x360).
    await layer_settles_at(a, b, b_id, 1)
    # A phone-sized window: tiles under 400 px get the lowest spatial layer (320x180).
    await a.page.set_viewport_size({"width": 380, "height": 800})
    await layer_settles_at(a, b, b_id, 0)
    # The tile grows: the full 1280x720 layer, from the same single encoding.
    await a.page.set_viewport_size({"width": 2000, "height": 1100})
    await layer_settles_at(a, b, b_id, 2)


async def test_vp8_only_browser_in_a_vp9_conference_hears_everyone_and_is_seen(veche: Veche) -> None:
    conference = veche.create_conference(video_codec="vp9")
    a, a_id = await _in_conference(veche, "Alice", conference["id"])
    old, old_id = await _in_conference(veche, "Olga", conference["id"], init_script=VP8_ONLY_BROWSER)

    # She is told in plain words what she will miss, and why.
    notice = old.page.locator("#veche-notice", has_text="cannot play")
    await notice.wait_for(timeout=10_000)
    assert "VP9" in (await notice.text_content() or "")

    # Alice's tile on her page explains the missing picture; Alice's voice arrives, her video does not.
    tile = old.page.locator(f'.tile[data-participant="{a_id}"] .tile-withheld')
    await tile.wait_for(timeout=20_000)
    assert "cannot play VP9" in (await tile.text_content() or "")
    await old.wait_figure_growth(a_id, "audioPacketsReceived", by=50)
    figures = await old.feed_figures(a_id)
    assert figures is not None and figures["videoWithheld"] == "vp9_unsupported" and figures["framesDecoded"] == 0

    # She publishes VP8 simulcast instead, which Alice decodes: everyone sees her.
    assert await old.page.evaluate("() => window.vecheClient.cameraScalabilityMode()") is None
    await a.wait_figure_growth(old_id, "framesDecoded", by=30)
    assert (await a.feed_figures(old_id) or {}).get("videoCodec") == "vp8"
