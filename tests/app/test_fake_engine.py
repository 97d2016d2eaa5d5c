"""The in-memory media engine behaves like the Janus one for the app role's logic."""

from __future__ import annotations

import pytest

from veche.app.fake_engine import FakeMediaEngine
from veche.app.media_engine import MediaEngineError, MediaEngineUnavailable

OFFER = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


async def started() -> FakeMediaEngine:
    engine = FakeMediaEngine()
    await engine.start()
    await engine.ensure_room(1, max_publishers=2, bitrate_bps=1_000_000)
    return engine


async def test_publish_subscribe_round_trip() -> None:
    engine = await started()
    answer = await engine.publish(1, 10, "Alice", OFFER)
    assert answer.answer_sdp.startswith("v=0") and "m=video" in answer.answer_sdp
    offer = await engine.subscribe(1, 500, 10)
    assert offer.offer_sdp.startswith("v=0") and "a=sendonly" in offer.offer_sdp
    await engine.answer_subscription(1, 500, OFFER)
    await engine.set_substream(1, 500, 0)
    assert engine.subscriptions[(1, 500)].substream == 0
    assert engine.subscriptions[(1, 500)].answer_sdp == OFFER
    info = await engine.info()
    assert info.up and info.epoch == 1


async def test_unknown_things_are_refused() -> None:
    engine = await started()
    with pytest.raises(MediaEngineError, match="no such feed"):
        await engine.subscribe(1, 500, 99)
    with pytest.raises(MediaEngineError, match="unknown feed 99"):
        await engine.set_feed_muted(1, 99, audio=True, video=None)
    with pytest.raises(MediaEngineError, match="unknown subscription"):
        await engine.answer_subscription(1, 77, OFFER)
    with pytest.raises(MediaEngineError, match="no such room"):
        await engine.publish(2, 10, "Alice", OFFER)
    with pytest.raises(MediaEngineError, match="substream must be"):
        await engine.set_substream(1, 77, 3)


async def test_room_limits_and_duplicates() -> None:
    engine = await started()
    await engine.publish(1, 10, "Alice", OFFER)
    with pytest.raises(MediaEngineError, match="already published"):
        await engine.publish(1, 10, "Alice", OFFER)
    await engine.publish(1, 11, "Bob", OFFER)
    with pytest.raises(MediaEngineError, match="maximum number of publishers"):
        await engine.publish(1, 12, "Carol", OFFER)


async def test_mute_state_is_recorded() -> None:
    engine = await started()
    await engine.publish(1, 10, "Alice", OFFER)
    await engine.set_feed_muted(1, 10, audio=True, video=None)
    assert engine.feed_muted(1, 10) == (True, False)
    await engine.set_feed_muted(1, 10, audio=None, video=True)
    await engine.set_feed_muted(1, 10, audio=False, video=None)
    assert engine.feed_muted(1, 10) == (False, True)
    assert engine.feed_muted(1, 11) is None


async def test_cleanup_is_idempotent() -> None:
    engine = await started()
    await engine.publish(1, 10, "Alice", OFFER)
    await engine.subscribe(1, 500, 10)
    await engine.unsubscribe(1, 500)
    await engine.unsubscribe(1, 500)
    await engine.unpublish(1, 10)
    await engine.unpublish(1, 10)
    await engine.publish(1, 10, "Alice", OFFER)
    await engine.destroy_room(1)
    await engine.destroy_room(1)
    assert not engine.rooms and not engine.publishers and not engine.subscriptions


async def test_crash_and_restart_forgets_everything_and_calls_listeners() -> None:
    engine = await started()
    await engine.publish(1, 10, "Alice", OFFER)
    seen: list[int] = []

    async def listener() -> None:
        seen.append((await engine.info()).epoch)
        # A listener typically republishes right away: the engine must accept it.
        await engine.ensure_room(1, max_publishers=2, bitrate_bps=1_000_000)

    engine.add_restart_listener(listener)
    await engine.crash_and_restart()
    assert seen == [2]
    assert (await engine.info()).epoch == 2
    assert engine.publishers == {} and engine.subscriptions == {}
    assert 1 in engine.rooms


async def test_unavailable_engine_fails_requests_but_not_cleanup() -> None:
    engine = await started()
    engine.available = False
    with pytest.raises(MediaEngineUnavailable):
        await engine.publish(1, 10, "Alice", OFFER)
    await engine.unpublish(1, 10)
    await engine.unsubscribe(1, 500)
    assert not (await engine.info()).up
