"""JanusMediaEngine against a real Janus, with aiortc peers as publisher and subscriber."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from aiortc.mediastreams import AudioStreamTrack, MediaStreamTrack
from av import VideoFrame

from tests.support.eventually import eventually
from veche.app.janus.engine import JanusMediaEngine
from veche.app.janus.process import JanusProcess
from veche.app.janus.version import MIN_JANUS_VERSION, parse_version
from veche.app.media_engine import MediaEngineError, MediaEngineUnavailable
from veche.config.janus import JanusConfig

pytestmark = [pytest.mark.janus, pytest.mark.usefixtures("no_leaked_janus")]
logger = logging.getLogger(__name__)

ROOM = 4242


class GrayRamp(VideoStreamTrack):
    """320x240 frames whose brightness changes every frame."""

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(320, 240, "yuv420p")
        level = bytes([(pts // 3000) % 200 + 20])
        for plane in frame.planes:
            plane.update(level * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


def peer() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


@contextlib.asynccontextmanager
async def peers() -> AsyncIterator[list[RTCPeerConnection]]:
    """Collects peer connections and closes them all at the end."""
    made: list[RTCPeerConnection] = []
    try:
        yield made
    finally:
        await asyncio.gather(*(pc.close() for pc in made))


async def publish(engine: JanusMediaEngine, pcs: list[RTCPeerConnection], feed: int, room: int = ROOM) -> None:
    pc = peer()
    pcs.append(pc)
    pc.addTrack(GrayRamp())
    pc.addTrack(AudioStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers every candidate first
    result = await engine.publish(room, feed, f"feed {feed}", pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(result.answer_sdp, "answer"))


async def subscribe(
    engine: JanusMediaEngine, pcs: list[RTCPeerConnection], subscription: int, feed: int, room: int = ROOM
) -> tuple[RTCPeerConnection, dict[str, MediaStreamTrack]]:
    pc = peer()
    pcs.append(pc)
    tracks: dict[str, MediaStreamTrack] = {}
    pc.on("track", lambda track: tracks.__setitem__(track.kind, track))
    offer = await engine.subscribe(room, subscription, feed)
    await pc.setRemoteDescription(RTCSessionDescription(offer.offer_sdp, "offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    await engine.answer_subscription(room, subscription, pc.localDescription.sdp)
    return pc, tracks


async def next_video_frame(tracks: dict[str, MediaStreamTrack], within_s: float = 5) -> VideoFrame:
    """The next decoded frame of the subscriber's video track (waiting for the track to appear)."""
    deadline = time.monotonic() + within_s
    while "video" not in tracks:
        assert time.monotonic() < deadline, "no video track"
        await asyncio.sleep(0.01)
    frame = await asyncio.wait_for(tracks["video"].recv(), max(deadline - time.monotonic(), 0.1))
    assert isinstance(frame, VideoFrame)
    return frame


async def audio_packets(pc: RTCPeerConnection) -> int:
    stats = await pc.getStats()
    return sum(
        int(s.packetsReceived) for s in stats.values() if s.type == "inbound-rtp" and getattr(s, "kind", "") == "audio"
    )


async def wait_audio_growth(pc: RTCPeerConnection, packets: int, within_s: float) -> int:
    """Wait until ``packets`` more audio packets arrived; returns the new count."""
    start = await audio_packets(pc)
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        now = await audio_packets(pc)
        if now - start >= packets:
            return now
    raise AssertionError(f"fewer than {packets} audio packets in {within_s} s (got {now - start})")


async def test_subscriber_decodes_published_video(janus_engine: JanusMediaEngine) -> None:
    await janus_engine.ensure_room(ROOM, max_publishers=4, bitrate_bps=512_000)
    await janus_engine.ensure_room(ROOM, max_publishers=4, bitrate_bps=512_000)  # idempotent
    async with peers() as pcs:
        started = time.monotonic()
        await publish(janus_engine, pcs, feed=1)
        published = time.monotonic()
        _, tracks = await subscribe(janus_engine, pcs, subscription=100, feed=1)
        subscribed = time.monotonic()
        frames = [await next_video_frame(tracks)]
        first_frame = time.monotonic()
        while len(frames) < 10:
            frames.append(await next_video_frame(tracks))
        assert all((frame.width, frame.height) == (320, 240) for frame in frames)
        assert len({frame.pts for frame in frames}) == 10
        logger.warning(
            "publish %.0f ms, subscribe %.0f ms (incl. the publisher's webrtcup), "
            "first decoded frame %.0f ms later, 10 frames after %.0f ms",
            (published - started) * 1000,
            (subscribed - published) * 1000,
            (first_frame - subscribed) * 1000,
            (time.monotonic() - subscribed) * 1000,
        )
        assert first_frame - started < 5
        await janus_engine.set_substream(ROOM, 100, 0)  # accepted even without simulcast
        await janus_engine.unsubscribe(ROOM, 100)
        await janus_engine.unsubscribe(ROOM, 100)
        await janus_engine.unpublish(ROOM, 1)
        await janus_engine.unpublish(ROOM, 1)
    await janus_engine.destroy_room(ROOM)
    await janus_engine.destroy_room(ROOM)


async def test_moderation_stops_and_resumes_audio(janus_engine: JanusMediaEngine) -> None:
    await janus_engine.ensure_room(ROOM, max_publishers=4, bitrate_bps=512_000)
    async with peers() as pcs:
        await publish(janus_engine, pcs, feed=1)
        sub, _ = await subscribe(janus_engine, pcs, subscription=100, feed=1)
        await wait_audio_growth(sub, 20, within_s=5)

        await janus_engine.set_feed_muted(ROOM, 1, audio=True, video=None)
        assert janus_engine.feed_muted(ROOM, 1) == (True, False)
        await asyncio.sleep(0.3)  # packets already in flight
        before = await audio_packets(sub)
        await asyncio.sleep(1.0)
        assert await audio_packets(sub) - before <= 2, "audio still flows while moderated"

        await janus_engine.set_feed_muted(ROOM, 1, audio=False, video=None)
        assert janus_engine.feed_muted(ROOM, 1) == (False, False)
        await wait_audio_growth(sub, 20, within_s=3)


async def test_errors_are_clear(janus_engine: JanusMediaEngine) -> None:
    await janus_engine.ensure_room(ROOM, max_publishers=1, bitrate_bps=512_000)
    with pytest.raises(MediaEngineError, match="no such feed") as unknown:
        await janus_engine.subscribe(ROOM, 100, 77)
    assert not isinstance(unknown.value, MediaEngineUnavailable)
    with pytest.raises(MediaEngineError, match="no such room"):
        await janus_engine.subscribe(ROOM + 1, 100, 77)
    with pytest.raises(MediaEngineError, match="unknown feed 77"):
        await janus_engine.set_feed_muted(ROOM, 77, audio=True, video=None)
    with pytest.raises(MediaEngineError, match="unknown subscription 5"):
        await janus_engine.answer_subscription(ROOM, 5, "v=0\r\n")
    with pytest.raises(MediaEngineError, match="substream must be"):
        await janus_engine.set_substream(ROOM, 5, 7)
    async with peers() as pcs:
        await publish(janus_engine, pcs, feed=1)
        with pytest.raises(MediaEngineError, match="already published"):
            await publish(janus_engine, pcs, feed=1)
        # Janus counts only connected publishers against the limit; subscribing waits for feed 1's media.
        await subscribe(janus_engine, pcs, subscription=100, feed=1)
        with pytest.raises(MediaEngineError, match="maximum number of publishers"):
            await publish(janus_engine, pcs, feed=2)
        with pytest.raises(MediaEngineError, match="publish feed 3"):
            await janus_engine.publish(ROOM, 3, "bad", "this is not SDP")
    await janus_engine.destroy_room(ROOM)


async def test_a_viewer_losing_packets_gets_a_lower_layer(janus_engine: JanusMediaEngine) -> None:
    """Janus's ``slowlink`` (downlink) on a viewer's handle lowers his layer by one; Janus takes the change."""
    await janus_engine.ensure_room(ROOM, max_publishers=4, bitrate_bps=512_000)
    async with peers() as pcs:
        await publish(janus_engine, pcs, feed=1)
        await subscribe(janus_engine, pcs, subscription=100, feed=1)
        await janus_engine.set_substream(ROOM, 100, 2)
        sub = janus_engine._subscriptions[(ROOM, 100)]  # the engine's own record of the viewer
        # What Janus sends when a viewer NACKs more than slowlink_threshold packets in a second (janus/ice.c).
        slowlink = {"janus": "slowlink", "sender": sub.handle.id, "mid": sub.video_mids[0], "media": "video"}
        janus_engine._on_subscription_event((ROOM, 100), {**slowlink, "uplink": True, "lost": 9})
        assert sub.choice.layer == 2  # the viewer's own uplink is not his downlink
        janus_engine._on_subscription_event((ROOM, 100), {**slowlink, "uplink": False, "lost": 9})
        assert sub.choice.layer == 1 and sub.choice.capped and sub.recovery is not None

        async def target() -> int:  # the configure runs in the background; Janus answers it
            return sub.layer_target

        await eventually(target, lambda layer: layer == 1, timeout=5, interval=0.02, what="layer 1 sent to Janus")
        await janus_engine.set_substream(ROOM, 100, 2)  # the tile asks for more: the cap holds for now
        assert sub.layer_target == 1
        await janus_engine.unsubscribe(ROOM, 100)
        assert sub.recovery is None or sub.recovery.cancelled()
    await janus_engine.destroy_room(ROOM)


@pytest.mark.parametrize("style", ["rid", "ssrc-group"])
async def test_vp8_simulcast_offer_is_accepted(janus_engine: JanusMediaEngine, style: str) -> None:
    """Browsers send 3 VP8 layers, by rid (Chromium, Firefox) or by an SSRC SIM group (munged SDP)."""
    await janus_engine.ensure_room(ROOM, max_publishers=4, bitrate_bps=2_500_000)
    async with peers() as pcs:
        pc = peer()
        pcs.append(pc)
        pc.addTrack(GrayRamp())
        pc.addTrack(AudioStreamTrack())
        await pc.setLocalDescription(await pc.createOffer())
        offer = simulcast_offer(pc.localDescription.sdp, style)
        answer = (await janus_engine.publish(ROOM, 1, "simulcast", offer)).answer_sdp
        if style == "rid":
            assert "a=simulcast:recv h;m;l" in answer
            assert all(f"a=rid:{rid} recv" in answer for rid in "hml")
        assert "m=video 9" in answer and "VP8/90000" in answer
    await janus_engine.destroy_room(ROOM)


def simulcast_offer(sdp: str, style: str) -> str:
    lines: list[str] = []
    in_video = False
    for line in sdp.split("\r\n"):
        if line.startswith("m="):
            in_video = line.startswith("m=video")
        if in_video and style == "ssrc-group" and line.startswith(("a=ssrc", "a=ssrc-group")):
            continue
        lines.append(line)
        if in_video and line.startswith("a=mid:"):
            if style == "rid":
                lines += [
                    "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
                    "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
                    "a=rid:h send",
                    "a=rid:m send",
                    "a=rid:l send",
                    "a=simulcast:send h;m;l",
                ]
            else:
                ssrcs = [1111, 2222, 3333]
                lines.append("a=ssrc-group:SIM " + " ".join(map(str, ssrcs)))
                lines += [f"a=ssrc:{ssrc} cname:simulcast" for ssrc in ssrcs]
    return "\r\n".join(lines)


async def test_killed_janus_comes_back_with_a_new_epoch(janus_engine: JanusMediaEngine) -> None:
    await janus_engine.ensure_room(ROOM, max_publishers=4, bitrate_bps=512_000)
    back = asyncio.Event()
    seen: list[int] = []

    async def on_restart() -> None:
        info = await janus_engine.info()
        seen.append(info.epoch)
        # What the app role does: recreate the room (forgotten with the old epoch) and carry on.
        await janus_engine.ensure_room(ROOM, max_publishers=4, bitrate_bps=512_000)
        back.set()

    janus_engine.add_restart_listener(on_restart)
    before = await janus_engine.info()
    assert before.up and before.epoch == 1 and before.pid is not None
    async with peers() as pcs:
        await publish(janus_engine, pcs, feed=1)

        killed_at = time.monotonic()
        os.kill(before.pid, signal.SIGKILL)
        # Requests while Janus is down fail at once, never after a request timeout.
        for _ in range(3):
            asked = time.monotonic()
            with pytest.raises(MediaEngineUnavailable):
                await janus_engine.subscribe(ROOM, 100, 1)
            assert time.monotonic() - asked < 0.5
            await asyncio.sleep(0.02)

        await asyncio.wait_for(back.wait(), 10)
        recovered = time.monotonic() - killed_at
        after = await janus_engine.info()
        assert seen == [2] and after.up and after.epoch == 2
        assert after.pid not in (None, before.pid)
        logger.warning("Janus killed -> engine up again with epoch 2 in %.0f ms", recovered * 1000)

        # The old feed is gone; a new publish + subscribe works in the new epoch.
        with pytest.raises(MediaEngineError, match="no such feed"):
            await janus_engine.subscribe(ROOM, 100, 1)
        await publish(janus_engine, pcs, feed=1)
        _, tracks = await subscribe(janus_engine, pcs, subscription=100, feed=1)
        assert (await next_video_frame(tracks)).width == 320


async def test_engine_on_external_janus(tmp_path: Path) -> None:
    """With ws_url the engine runs no child; when that Janus dies, requests fail fast."""
    janus = JanusProcess(JanusConfig(), tmp_path / "external")
    await janus.start()
    secret_file = tmp_path / "secret"
    secret_file.write_text(janus.api_secret)
    engine = JanusMediaEngine(JanusConfig(ws_url=janus.ws_url, api_secret_file=secret_file), tmp_path / "engine")
    try:
        await engine.start()
        info = await engine.info()
        assert info.up and info.pid is None and (parse_version(info.version) or (0, 0, 0)) >= MIN_JANUS_VERSION
        assert not (tmp_path / "engine" / "janus").exists()
        await engine.ensure_room(ROOM, max_publishers=2, bitrate_bps=256_000)

        await janus.stop()
        deadline = time.monotonic() + 2
        while (await engine.info()).up:
            assert time.monotonic() < deadline, "engine did not notice that Janus went away"
            await asyncio.sleep(0.01)
        asked = time.monotonic()
        with pytest.raises(MediaEngineUnavailable):
            await engine.ensure_room(ROOM, max_publishers=2, bitrate_bps=256_000)
        assert time.monotonic() - asked < 0.1
    finally:
        await engine.stop()
        await janus.stop()
