"""The media engine interface: what the app role needs from an SFU.

Veche never touches media. The app role asks a :class:`MediaEngine` to create rooms, accept a
publisher's SDP offer and to offer a subscriber one remote feed. Janus implements it
(:mod:`veche.app.janus.engine`); :mod:`veche.app.fake_engine` is the in-memory version for unit tests.

Identifiers are Veche's: ``room`` is the conference's numeric id, ``feed`` a numeric publisher id
chosen by Veche (unique per room). One publisher feed carries one source (camera+microphone, or a
screen). One subscription receives one feed (one peer connection per remote feed).
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from veche.domain.call_history import MediaCounters
from veche.domain.model import VideoCodec

__all__ = [
    "EngineInfo",
    "MediaEngine",
    "MediaEngineError",
    "MediaEngineUnavailable",
    "PublishResult",
    "RestartListener",
    "SubscribeResult",
]


class MediaEngineError(Exception):
    """The engine refused a request (bad SDP, unknown feed, ...). The message is safe to show."""


class MediaEngineUnavailable(MediaEngineError):
    """The engine is down or restarting; the client should retry after ``media_reset``."""


@dataclass(frozen=True)
class EngineInfo:
    """What health reports about the engine."""

    name: str  # "janus"
    version: str  # "1.1.2"
    up: bool
    epoch: int  # increases each time the engine (re)starts; handles from older epochs are gone
    pid: int | None = None  # the engine's process id when Veche runs it as a child


@dataclass(frozen=True)
class PublishResult:
    answer_sdp: str
    video_codec: str | None = None  # the negotiated video codec ("vp8", "vp9"), None without video


@dataclass(frozen=True)
class SubscribeResult:
    offer_sdp: str


# Called (without arguments) after the engine came back from a crash with a new epoch.
# Every room, publisher and subscription of the previous epoch is gone by then.
RestartListener = Callable[[], Awaitable[None]]


class MediaEngine(abc.ABC):
    """An SFU driven by the app role. Every method may raise :class:`MediaEngineError`."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Start (or connect to) the engine; returns once it answers requests."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop the engine and release every handle."""

    @abc.abstractmethod
    async def info(self) -> EngineInfo: ...

    @abc.abstractmethod
    def add_restart_listener(self, listener: RestartListener) -> None:
        """Register a coroutine to run after each crash-and-restart of the engine."""

    @abc.abstractmethod
    async def ensure_room(
        self, room: int, *, max_publishers: int, bitrate_bps: int, video_codec: VideoCodec = VideoCodec.VP8
    ) -> None:
        """Create the room if it does not exist in the current epoch (idempotent).

        A VP8 room takes VP8 only (simulcast); a VP9 room takes VP9 (SVC) and, from clients that cannot
        send VP9, VP8.
        """

    @abc.abstractmethod
    async def destroy_room(self, room: int) -> None:
        """Destroy the room and every publisher/subscription in it (idempotent)."""

    @abc.abstractmethod
    async def publish(
        self, room: int, feed: int, display: str, offer_sdp: str, *, scalability_mode: str | None = None
    ) -> PublishResult:
        """Join ``room`` as publisher ``feed`` with the client's complete (non-trickle) SDP offer.

        ``scalability_mode`` (e.g. ``"L3T3_KEY"``) says the offer's video is one SVC encoding.
        """

    @abc.abstractmethod
    async def unpublish(self, room: int, feed: int) -> None:
        """Stop publisher ``feed`` and detach its handle (idempotent)."""

    @abc.abstractmethod
    async def set_feed_muted(self, room: int, feed: int, *, audio: bool | None, video: bool | None) -> None:
        """Moderation: stop (True) or resume (False) forwarding a feed's audio/video to everyone."""

    @abc.abstractmethod
    async def subscribe(self, room: int, subscription: int, feed: int, *, video: bool = True) -> SubscribeResult:
        """Create subscription ``subscription`` (Veche-chosen id) to ``feed``; returns the engine's offer.

        ``video=False`` receives the feed's audio only (a client that cannot decode its video).
        """

    @abc.abstractmethod
    async def answer_subscription(self, room: int, subscription: int, answer_sdp: str) -> None:
        """Complete a subscription with the client's complete (non-trickle) SDP answer."""

    @abc.abstractmethod
    async def set_substream(self, room: int, subscription: int, substream: int) -> None:
        """Pick the layer (0 = lowest, 2 = highest) a subscription receives: the simulcast substream of a
        VP8 feed, the spatial layer (with every temporal layer) of a VP9 SVC feed."""

    @abc.abstractmethod
    async def unsubscribe(self, room: int, subscription: int) -> None:
        """Stop and detach a subscription (idempotent)."""

    async def feed_counters(self, room: int, feed: int) -> MediaCounters | None:
        """What the engine received of publisher ``feed`` so far (``*_in`` fields), for the call history; None when
        the feed is unknown or this engine does not count."""
        return None

    async def subscription_counters(self, room: int, subscription: int) -> MediaCounters | None:
        """What the engine sent to ``subscription`` so far (``*_out`` fields); None as for :meth:`feed_counters`."""
        return None
