"""An in-memory :class:`~veche.app.media_engine.MediaEngine` for unit tests of the app role.

It keeps the same bookkeeping as the Janus engine (rooms, publishers, subscriptions, moderation)
and refuses the same things (unknown room, feed or subscription; a full room; a duplicate feed), but
moves no media: SDPs are syntactically valid placeholders. :meth:`FakeMediaEngine.crash_and_restart`
simulates a Janus crash: the epoch increases, everything is forgotten and the listeners run.
Tests can read the state back (:attr:`rooms`, :attr:`publishers`, :attr:`subscriptions`,
:meth:`feed_muted`) and make it unavailable on purpose (:attr:`available`).
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from veche.app.janus.sdp import first_video_codec
from veche.app.media_engine import (
    EngineInfo,
    MediaEngine,
    MediaEngineError,
    MediaEngineUnavailable,
    PublishResult,
    RestartListener,
    SubscribeResult,
)
from veche.domain.call_history import MediaCounters
from veche.domain.model import VideoCodec

__all__ = ["FakeMediaEngine", "FakePublisher", "FakeRoom", "FakeSubscription"]

logger = logging.getLogger(__name__)


@dataclass
class FakeRoom:
    max_publishers: int
    bitrate_bps: int
    video_codec: VideoCodec = VideoCodec.VP8


@dataclass
class FakePublisher:
    display: str
    offer_sdp: str
    scalability_mode: str | None = None
    audio_muted: bool = False
    video_muted: bool = False
    since_s: float = 0.0  # when it was published (the engine's clock), for its media counters


@dataclass
class FakeSubscription:
    feed: int
    answer_sdp: str | None = None
    video: bool = True
    substream: int = 2
    history: list[int] = field(default_factory=list)  # every substream asked for, in order
    since_s: float = 0.0  # when it was created (the engine's clock), for its media counters


def _sdp(kind: str, session: str, video_codec: str = "vp8") -> str:
    """A minimal, well-formed SDP with one audio and one video section."""
    direction = "recvonly" if kind == "answer" else "sendonly"
    lines = [
        "v=0",
        f"o=- {zlib.crc32(session.encode())} 1 IN IP4 127.0.0.1",
        f"s=fake {kind} {session}",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 127.0.0.1",
        f"a={direction}",
        "a=mid:0",
        "a=rtpmap:111 opus/48000/2",
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        "c=IN IP4 127.0.0.1",
        f"a={direction}",
        "a=mid:1",
        f"a=rtpmap:96 {video_codec.upper()}/90000",
    ]
    return "\r\n".join(lines) + "\r\n"


class FakeMediaEngine(MediaEngine):
    """In-memory media engine; see the module docstring."""

    def __init__(
        self,
        *,
        version: str = "fake",
        clock_s: Callable[[], float] = time.monotonic,
        bitrate_bps: int = 800_000,
        loss: float = 0.01,
    ) -> None:
        self.version = version
        # Media "flows" at ``bitrate_bps`` in 1,000-byte packets from publish (or subscribe) on, ``loss`` of them
        # lost: what feed_counters/subscription_counters report, so the call history has figures to check.
        self.clock_s = clock_s
        self.bitrate_bps = bitrate_bps
        self.loss = loss
        self.epoch = 0
        self.running = False
        self.available = True  # set False to make every request raise MediaEngineUnavailable
        self.rooms: dict[int, FakeRoom] = {}
        self.publishers: dict[tuple[int, int], FakePublisher] = {}
        self.subscriptions: dict[tuple[int, int], FakeSubscription] = {}
        self.calls: list[str] = []  # method names in call order, for tests that care
        self._listeners: list[RestartListener] = []

    async def start(self) -> None:
        self.calls.append("start")
        if not self.running:
            self.running = True
            self.epoch = max(self.epoch, 1)

    async def stop(self) -> None:
        self.calls.append("stop")
        self.running = False
        self._forget()

    async def info(self) -> EngineInfo:
        return EngineInfo(name="fake", version=self.version, up=self._up, epoch=self.epoch, pid=None)

    def add_restart_listener(self, listener: RestartListener) -> None:
        self._listeners.append(listener)

    async def crash_and_restart(self) -> None:
        """Simulate an engine crash and restart: new epoch, empty state, listeners called."""
        self.calls.append("crash_and_restart")
        self._forget()
        self.epoch += 1
        logger.info("fake media engine restarted (epoch %s)", self.epoch)
        for listener in list(self._listeners):
            await listener()

    async def ensure_room(
        self, room: int, *, max_publishers: int, bitrate_bps: int, video_codec: VideoCodec = VideoCodec.VP8
    ) -> None:
        self._check("ensure_room")
        if max_publishers < 1 or bitrate_bps < 0:
            raise MediaEngineError("a room needs max_publishers >= 1 and bitrate_bps >= 0")
        self.rooms.setdefault(room, FakeRoom(max_publishers, bitrate_bps, video_codec))

    async def destroy_room(self, room: int) -> None:
        self._check("destroy_room")
        self.rooms.pop(room, None)
        for key in [k for k in self.publishers if k[0] == room]:
            del self.publishers[key]
        for key in [k for k in self.subscriptions if k[0] == room]:
            del self.subscriptions[key]

    async def publish(
        self, room: int, feed: int, display: str, offer_sdp: str, *, scalability_mode: str | None = None
    ) -> PublishResult:
        self._check("publish")
        state = self._room(room)
        if (room, feed) in self.publishers:
            raise MediaEngineError(f"feed {feed} is already published in room {room}")
        if sum(1 for key in self.publishers if key[0] == room) >= state.max_publishers:
            raise MediaEngineError(f"publish feed {feed}: the room has reached its maximum number of publishers")
        if not offer_sdp.startswith("v=0"):
            raise MediaEngineError(f"publish feed {feed}: the offer is not an SDP")
        # The offer's first video codec, as Janus takes it when the room allows it (VP8 otherwise).
        offered = first_video_codec(offer_sdp)
        if offered is not None and offered not in state.video_codec.accepted:
            raise MediaEngineError(f"publish feed {feed}: the room does not take {offered} video")
        self.publishers[(room, feed)] = FakePublisher(display, offer_sdp, scalability_mode, since_s=self.clock_s())
        return PublishResult(answer_sdp=_sdp("answer", f"{room}/{feed}", offered or "vp8"), video_codec=offered)

    async def unpublish(self, room: int, feed: int) -> None:
        self._check("unpublish", allow_down=True)
        self.publishers.pop((room, feed), None)

    async def set_feed_muted(self, room: int, feed: int, *, audio: bool | None, video: bool | None) -> None:
        self._check("set_feed_muted")
        pub = self.publishers.get((room, feed))
        if pub is None:
            raise MediaEngineError(f"unknown feed {feed} in room {room}")
        if audio is not None:
            pub.audio_muted = audio
        if video is not None:
            pub.video_muted = video

    def feed_muted(self, room: int, feed: int) -> tuple[bool, bool] | None:
        """(audio muted, video muted) of a feed, or None when it is not published."""
        pub = self.publishers.get((room, feed))
        return None if pub is None else (pub.audio_muted, pub.video_muted)

    async def subscribe(self, room: int, subscription: int, feed: int, *, video: bool = True) -> SubscribeResult:
        self._check("subscribe")
        self._room(room)
        if (room, feed) not in self.publishers:
            raise MediaEngineError(f"subscribe to feed {feed}: no such feed")
        if (room, subscription) in self.subscriptions:
            raise MediaEngineError(f"subscription {subscription} already exists in room {room}")
        self.subscriptions[(room, subscription)] = FakeSubscription(feed, video=video, since_s=self.clock_s())
        return SubscribeResult(offer_sdp=_sdp("offer", f"{room}/{subscription}"))

    async def answer_subscription(self, room: int, subscription: int, answer_sdp: str) -> None:
        self._check("answer_subscription")
        sub = self._subscription(room, subscription)
        if not answer_sdp.startswith("v=0"):
            raise MediaEngineError(f"start subscription {subscription}: the answer is not an SDP")
        sub.answer_sdp = answer_sdp

    async def set_substream(self, room: int, subscription: int, substream: int) -> None:
        self._check("set_substream")
        if substream not in (0, 1, 2):
            raise MediaEngineError(f"substream must be 0, 1 or 2, not {substream}")
        sub = self._subscription(room, subscription)
        sub.substream = substream
        sub.history.append(substream)

    async def unsubscribe(self, room: int, subscription: int) -> None:
        self._check("unsubscribe", allow_down=True)
        self.subscriptions.pop((room, subscription), None)

    async def feed_counters(self, room: int, feed: int) -> MediaCounters | None:
        pub = self.publishers.get((room, feed))
        if pub is None:
            return None
        sent, lost = self._traffic(pub.since_s)
        return MediaCounters(bytes_in=sent * 1000, packets_in=sent - lost, lost_in=lost)

    async def subscription_counters(self, room: int, subscription: int) -> MediaCounters | None:
        sub = self.subscriptions.get((room, subscription))
        if sub is None:
            return None
        sent, lost = self._traffic(sub.since_s)
        return MediaCounters(bytes_out=sent * 1000, packets_out=sent - lost, lost_out=lost)

    def _traffic(self, since_s: float) -> tuple[int, int]:
        """(packets sent, packets lost) since ``since_s`` at the configured rate."""
        sent = int(max(0.0, self.clock_s() - since_s) * self.bitrate_bps / 8 / 1000)
        return sent, int(sent * self.loss)

    @property
    def _up(self) -> bool:
        return self.running and self.available

    def _check(self, name: str, *, allow_down: bool = False) -> None:
        self.calls.append(name)
        if not self._up and not allow_down:
            raise MediaEngineUnavailable("the media engine is restarting; retry after media_reset")

    def _room(self, room: int) -> FakeRoom:
        state = self.rooms.get(room)
        if state is None:
            raise MediaEngineError(f"no such room {room}")
        return state

    def _subscription(self, room: int, subscription: int) -> FakeSubscription:
        sub = self.subscriptions.get((room, subscription))
        if sub is None:
            raise MediaEngineError(f"unknown subscription {subscription} in room {room}")
        return sub

    def _forget(self) -> None:
        self.rooms.clear()
        self.publishers.clear()
        self.subscriptions.clear()
