"""The media counters the call history reads from a real Janus (its admin API on loopback), and their parsing."""

from __future__ import annotations

import pytest

from tests.app.conftest import private_media_network_problem
from tests.app.test_janus_engine import ROOM, next_video_frame, peers, publish, subscribe
from tests.support.eventually import eventually
from veche.app.janus.admin import JanusAdmin, JanusAdminError, counters_of
from veche.app.janus.engine import JanusMediaEngine
from veche.domain.call_history import MediaCounters

PROBLEM = private_media_network_problem()


def test_counters_are_read_from_handle_info() -> None:
    info = {  # as Janus 1.4 answers (trimmed)
        "webrtc": {
            "media": {
                "0": {
                    "type": "video",
                    "stats": {
                        "in": {"packets": 900, "bytes": 900_000, "bytes_lastsec": 9000, "packets-sim1": 300},
                        "out": {"packets": 0, "bytes": 0, "bytes_lastsec": 0, "nacks": 0},
                    },
                    "rtcp": {"main": {"base": 90000, "lost": 7, "lost-by-remote": 0}, "sim1": {"lost": 3}},
                },
                "1": {
                    "type": "audio",
                    "stats": {"in": {"packets": 100, "bytes": 8000}, "out": {"packets": 5, "bytes": 400}},
                    "rtcp": {"main": {"lost": 2, "lost-by-remote": 1}},
                },
            }
        }
    }
    got, sent = counters_of(info)
    assert got == MediaCounters(bytes_in=908_000, packets_in=1300, lost_in=12)
    assert sent == MediaCounters(bytes_out=400, packets_out=5, lost_out=1)
    assert counters_of({}) == (MediaCounters(), MediaCounters())
    assert counters_of({"webrtc": {"media": {"0": {"stats": {"in": {"packets": "x"}}}}}})[0] == MediaCounters()


@pytest.mark.janus
@pytest.mark.skipif(PROBLEM is not None, reason=PROBLEM or "")
async def test_janus_reports_what_a_publisher_sent_and_a_subscriber_received(janus_engine: JanusMediaEngine) -> None:
    await janus_engine.ensure_room(ROOM, max_publishers=4, bitrate_bps=512_000)
    async with peers() as pcs:
        await publish(janus_engine, pcs, feed=1)
        _, tracks = await subscribe(janus_engine, pcs, subscription=100, feed=1)
        for _ in range(10):
            await next_video_frame(tracks)

        async def both() -> tuple[MediaCounters | None, MediaCounters | None]:
            return await janus_engine.feed_counters(ROOM, 1), await janus_engine.subscription_counters(ROOM, 100)

        def flowing(seen: tuple[MediaCounters | None, MediaCounters | None]) -> bool:
            received, sent = seen
            return received is not None and sent is not None and received.bytes_in > 10_000 and sent.bytes_out > 10_000

        received, sent = await eventually(both, flowing, timeout=15, interval=0.2, what="media counters")
        assert received is not None and sent is not None
        assert received.packets_in > 10 and received.bytes_out == 0  # a publisher only sends
        assert sent.packets_out > 10 and sent.bytes_in == 0  # a viewer only receives
        assert await janus_engine.feed_counters(ROOM, 99) is None
    await janus_engine.destroy_room(ROOM)


@pytest.mark.janus
@pytest.mark.skipif(PROBLEM is not None, reason=PROBLEM or "")
async def test_the_admin_api_wants_the_secret(janus_engine: JanusMediaEngine) -> None:
    process = janus_engine.process
    assert process is not None and process.admin_ws_url is not None
    wrong = JanusAdmin(process.admin_ws_url, "not-the-secret")
    try:
        with pytest.raises(JanusAdminError, match="(?i)unauthorized"):
            await wrong.handle_info(1, 1)
    finally:
        await wrong.close()
