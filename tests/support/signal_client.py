"""A synthetic participant: an aiortc client speaking Veche's signaling protocol (docs/protocol.md).

It joins with a ticket, publishes a synthetic camera, subscribes to every feed announced (``joined.feeds``,
``feed_added``), records when each remote feed's first video frame was decoded, sends chat, and follows
``media_reset`` by publishing and subscribing again. Used by the protocol tests and by ``bench/join.py``.

SDP is exchanged complete (non-trickle): aiortc's ``setLocalDescription`` returns once ICE gathering is
complete, so the description sent already carries every candidate.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import json
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import SessionDescription
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .synthetic_media import CameraSource, LiveCamera

__all__ = [
    "DecodeMode",
    "RemoteFeed",
    "SignalError",
    "SyntheticParticipant",
]

logger = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
_REQUEST_TIMEOUT_S = 20.0
_MEDIA_RETRY_S = 30.0

Message = dict[str, Any]


class SignalError(Exception):
    """The server answered a request with ``{"type": "error"}``."""

    def __init__(self, code: str, message: str, reply: Message) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.reply = reply


class DecodeMode(enum.Enum):
    """How much of the received media the client processes."""

    ALL = "all"  # decode and count every frame (tests that check media keeps flowing)
    # Decode until the first video and audio frame; after that only count RTP packets as they arrive
    # from the network and drop them (no SRTP, jitter buffer or decoding), so that hundreds of
    # subscriptions fit in one Python process (benchmarks). ICE keeps answering Janus's checks.
    FIRST_FRAME = "first_frame"


@dataclass
class RemoteFeed:
    """One subscription to a remote feed and what has been decoded from it (times are time.monotonic())."""

    feed: int
    participant: str
    source: str
    subscribed_at: float | None = None  # subscribe sent
    answered_at: float | None = None  # subscription_answer accepted
    connected_at: float | None = None  # ICE and DTLS up
    first_video_frame_at: float | None = None
    first_audio_frame_at: float | None = None
    video_frames: int = 0
    audio_frames: int = 0
    video_packets: int = 0  # RTP packets received (counted in every mode)
    audio_packets: int = 0
    video_size: tuple[int, int] | None = None
    pc: RTCPeerConnection | None = field(default=None, repr=False)


class SyntheticParticipant:
    """One participant. Create, :meth:`connect`, optionally :meth:`publish_camera`, then :meth:`close`.

    ``auto_subscribe`` subscribes to every feed of other participants as soon as it is announced.
    """

    def __init__(
        self,
        name: str = "synthetic",
        *,
        decode: DecodeMode = DecodeMode.ALL,
        auto_subscribe: bool = True,
    ) -> None:
        self.name = name
        self.decode = decode
        self.auto_subscribe = auto_subscribe

        self.joined: Message | None = None
        self.participant_id: str | None = None
        self.role: str | None = None
        self.can_publish = False
        self.participants: dict[str, Message] = {}
        self.feeds: dict[int, RemoteFeed] = {}
        self.own_feeds: dict[str, int] = {}
        self.chat: list[Message] = []
        self.events: list[Message] = []
        self.errors: list[str] = []  # failures of background work (subscriptions, republish)
        self.media_resets = 0
        self.ws_opened_at: float | None = None
        self.closed = False

        self._ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Message]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Condition()
        self._camera: CameraSource | None = None
        self._publisher: RTCPeerConnection | None = None

    # -- connection ------------------------------------------------------------------------------

    async def connect(self, signaling_url: str, ticket: str, *, version: int = PROTOCOL_VERSION) -> Message:
        """Open the WebSocket and join; returns ``joined``. Raises :class:`SignalError` on refusal."""
        self.ws_opened_at = time.monotonic()
        self._ws = await connect(signaling_url, open_timeout=_REQUEST_TIMEOUT_S, max_size=4 * 1024 * 1024)
        await self._send({"type": "join", "v": version, "ticket": ticket})
        raw = await asyncio.wait_for(self._ws.recv(), _REQUEST_TIMEOUT_S)
        first: Message = json.loads(raw)
        if first.get("type") == "error":
            await self._ws.close()
            raise SignalError(str(first.get("code")), str(first.get("message")), first)
        if first.get("type") != "joined":
            raise AssertionError(f"expected 'joined' as the first message, got {first}")
        self.joined = first
        self.participant_id = str(first["participant"])
        self.role = first.get("role")
        self.can_publish = bool(first.get("can_publish"))
        self.participants = {str(p["id"]): p for p in first.get("participants", [])}
        self.chat.extend(first.get("chat", []))
        self._reader = asyncio.create_task(self._read_loop(), name=f"{self.name}-reader")
        for feed in first.get("feeds", []):
            self._on_feed_added(feed)
        return first

    async def close(self) -> None:
        """Leave, close the socket and every peer connection."""
        if self.closed:
            return
        self.closed = True
        if self._ws is not None:
            with contextlib.suppress(ConnectionClosed, OSError):
                await self._send({"type": "leave"})
            with contextlib.suppress(ConnectionClosed, OSError):
                await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._close_peer_connections()
        for future in self._pending.values():
            if not future.done():
                future.cancel()

    # -- requests --------------------------------------------------------------------------------

    async def request(self, message: Message, timeout: float = _REQUEST_TIMEOUT_S) -> Message:
        """Send ``message`` with a fresh ``id`` and return the reply; an ``error`` reply raises."""
        request_id = next(self._ids)
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self._send({**message, "id": request_id})
            reply = await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id, None)
        if reply.get("type") == "error":
            raise SignalError(str(reply.get("code")), str(reply.get("message")), reply)
        return reply

    async def send_raw(self, text: str) -> None:
        """Send a text frame as is (for malformed-message tests)."""
        assert self._ws is not None, "not connected"
        await self._ws.send(text)

    async def ping(self) -> Message:
        return await self.request({"type": "ping"})

    async def send_chat(self, text: str) -> Message:
        return await self.request({"type": "chat", "text": text})

    async def set_state(self, *, audio: bool, video: bool) -> Message:
        return await self.request({"type": "state", "audio": audio, "video": video})

    # -- publishing ------------------------------------------------------------------------------

    async def publish_camera(self, camera: CameraSource | None = None) -> int:
        """Publish a synthetic camera (moving 640x360 video and a tone) and return its feed id."""
        self._camera = camera or self._camera or LiveCamera()
        video, audio = self._camera.tracks()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._publisher = pc
        video_transceiver = pc.addTransceiver(video, direction="sendonly")
        audio_transceiver = pc.addTransceiver(audio, direction="sendonly")
        _prefer_codec(video_transceiver, "video/VP8")
        _prefer_codec(audio_transceiver, "audio/opus")
        self._camera.bind(video_transceiver.sender)
        offer = await pc.createOffer()
        await pc.setLocalDescription(offer)  # returns once ICE gathering is complete
        reply = await self.request({"type": "publish", "source": "camera", "sdp": pc.localDescription.sdp})
        await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
        feed = int(reply["feed"])
        self.own_feeds["camera"] = feed
        return feed

    async def sent_packets(self) -> dict[str, int]:
        """RTP packets sent so far by the camera publisher, by kind ("video", "audio")."""
        sent: dict[str, int] = {}
        if self._publisher is None:
            return sent
        for transceiver in self._publisher.getTransceivers():
            for stats in (await transceiver.sender.getStats()).values():
                if stats.type == "outbound-rtp":
                    sent[stats.kind] = sent.get(stats.kind, 0) + stats.packetsSent
        return sent

    async def unpublish(self, source: str = "camera") -> None:
        await self.request({"type": "unpublish", "source": source})
        self.own_feeds.pop(source, None)
        self._camera = None
        if self._publisher is not None:
            await self._publisher.close()
            self._publisher = None

    # -- subscribing -----------------------------------------------------------------------------

    async def subscribe(self, feed: int, participant: str = "", source: str = "camera") -> RemoteFeed:
        """Subscribe to ``feed``: take Janus's offer, answer it, count what gets decoded."""
        remote = self.feeds.get(feed)
        if remote is None:
            remote = self.feeds[feed] = RemoteFeed(feed=feed, participant=participant, source=source)
        remote.subscribed_at = time.monotonic()
        offer = await self.request({"type": "subscribe", "feed": feed})
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        remote.pc = pc

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState == "connected" and remote.connected_at is None:
                remote.connected_at = time.monotonic()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._spawn(self._consume(remote, track), f"{self.name}-consume-{feed}-{track.kind}")

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
        self._count_rtp(remote, pc, offer["sdp"])
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        await self.request({"type": "subscription_answer", "feed": feed, "sdp": pc.localDescription.sdp})
        remote.answered_at = time.monotonic()
        if self.feeds.get(feed) is not remote:  # removed (feed_removed, media_reset) meanwhile
            await pc.close()
        return remote

    async def unsubscribe(self, feed: int) -> None:
        await self.request({"type": "unsubscribe", "feed": feed})
        await self._drop_feed(feed)

    async def _consume(self, remote: RemoteFeed, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            now = time.monotonic()
            if track.kind == "video":
                remote.video_frames += 1
                if remote.first_video_frame_at is None:
                    remote.first_video_frame_at = now
                if isinstance(frame, av.VideoFrame):
                    remote.video_size = (frame.width, frame.height)
            else:
                remote.audio_frames += 1
                if remote.first_audio_frame_at is None:
                    remote.first_audio_frame_at = now
            await self._notify()
            if self.decode is DecodeMode.FIRST_FRAME:
                return  # once video and audio have a frame, _count_rtp drops the packets

    def _count_rtp(self, remote: RemoteFeed, pc: RTCPeerConnection, offer_sdp: str) -> None:
        """Count RTP packets per kind where they enter the client, and drop them once decoding is over.

        aiortc has no public hook for either: this wraps the handler that aioice calls with every
        non-STUN datagram of the subscription's (bundled) ICE connection. The RTP header is not
        encrypted, so its payload type tells audio from video.
        """
        kinds = {
            codec.payloadType: media.kind
            for media in SessionDescription.parse(offer_sdp).media
            for codec in media.rtp.codecs
        }
        connections = {
            id(connection): connection
            for transceiver in pc.getTransceivers()
            if (connection := getattr(transceiver.receiver.transport.transport, "_connection", None))
        }
        drop = self.decode is DecodeMode.FIRST_FRAME
        for connection in connections.values():
            deliver = connection.data_received

            def counting(data: bytes, component: int, deliver: Callable[[bytes, int], None] = deliver) -> None:
                # RTP: version 2 (first byte 128..191) and not RTCP (packet types 192..223).
                if len(data) > 12 and 128 <= data[0] <= 191 and not 192 <= data[1] <= 223:
                    kind = kinds.get(data[1] & 0x7F)
                    if kind == "video":
                        remote.video_packets += 1
                    elif kind == "audio":
                        remote.audio_packets += 1
                decoded = remote.first_video_frame_at is not None and remote.first_audio_frame_at is not None
                if not (drop and decoded):
                    deliver(data, component)

            connection.data_received = counting

    # -- waiting ---------------------------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait until ``predicate()`` holds (re-checked on every message and decoded frame)."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
            except TimeoutError:
                raise AssertionError(
                    f"{self.name}: timed out after {timeout:.0f} s waiting for {what}; "
                    f"feeds={self.describe_feeds()} errors={self.errors}"
                ) from None

    async def wait_for_video(self, feed: int | None = None, frames: int = 1, timeout: float = 20.0) -> RemoteFeed:
        """Wait until ``frames`` video frames were decoded from ``feed`` (or from any remote feed)."""

        def found() -> RemoteFeed | None:
            for remote in self.feeds.values():
                if (feed is None or remote.feed == feed) and remote.video_frames >= frames:
                    return remote
            return None

        await self.wait_until(lambda: found() is not None, timeout, f"{frames} video frame(s) of feed {feed}")
        result = found()
        assert result is not None
        return result

    async def wait_for_event(
        self, type_: str, timeout: float = 10.0, predicate: Callable[[Message], bool] | None = None
    ) -> Message:
        """The first received server event of ``type_`` (matching ``predicate``), waiting if needed."""

        def found() -> Message | None:
            for event in self.events:
                if event.get("type") == type_ and (predicate is None or predicate(event)):
                    return event
            return None

        await self.wait_until(lambda: found() is not None, timeout, f"a {type_!r} event")
        event = found()
        assert event is not None
        return event

    def describe_feeds(self) -> str:
        return ", ".join(f"{r.feed}:{r.video_frames}v/{r.audio_frames}a" for r in self.feeds.values()) or "none"

    # -- internals -------------------------------------------------------------------------------

    async def _send(self, message: Message) -> None:
        assert self._ws is not None, "not connected"
        await self._ws.send(json.dumps(message))

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _read_loop(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                try:
                    message: Message = json.loads(raw)
                except ValueError:
                    self.errors.append(f"server sent non-JSON: {raw!r:.200}")
                    continue
                self._dispatch(message)
                await self._notify()
        except ConnectionClosed:
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError(f"{self.name}: signaling socket closed"))
            self.events.append({"type": "_socket_closed"})
            await self._notify()

    def _dispatch(self, message: Message) -> None:
        request_id = message.get("id")
        if isinstance(request_id, int) and request_id in self._pending:
            future = self._pending[request_id]
            if not future.done():
                future.set_result(message)
            return
        self.events.append(message)
        kind = message.get("type")
        if kind == "feed_added":
            self._on_feed_added(message["feed"])
        elif kind == "feed_removed":
            self._spawn(self._drop_feed(int(message["feed"])), f"{self.name}-drop")
        elif kind == "chat":
            self.chat.append(message["message"])
        elif kind in ("participant_joined", "participant_updated"):
            participant = message["participant"]
            self.participants[str(participant["id"])] = participant
        elif kind == "participant_left":
            self.participants.pop(str(message["participant"]), None)
        elif kind == "media_reset":
            # Forget the dead connections now, before the feed_added events that follow are handled.
            self.media_resets += 1
            republish = "camera" in self.own_feeds and self._camera is not None
            self.own_feeds.clear()
            stale = self._detach_peer_connections()
            self.feeds.clear()
            self._spawn(self._after_media_reset(stale, republish), f"{self.name}-media-reset")

    def _on_feed_added(self, feed: Message) -> None:
        participant = str(feed.get("participant"))
        if not self.auto_subscribe or participant == self.participant_id:
            return
        feed_id = int(feed["feed"])
        if feed_id in self.feeds or feed_id in self.own_feeds.values():
            return
        source = str(feed.get("source"))
        self.feeds[feed_id] = RemoteFeed(feed=feed_id, participant=participant, source=source)
        self._spawn(
            self._retry_media(lambda: self.subscribe(feed_id, participant, source)),
            f"{self.name}-subscribe-{feed_id}",
        )

    async def _drop_feed(self, feed: int) -> None:
        remote = self.feeds.pop(feed, None)
        if remote is not None and remote.pc is not None:
            await remote.pc.close()

    async def _after_media_reset(self, stale: list[RTCPeerConnection], republish: bool) -> None:
        """Janus restarted: every peer connection is dead. Publish again; feeds come back as feed_added."""
        await asyncio.gather(*(pc.close() for pc in stale), return_exceptions=True)
        if republish:
            await self._retry_media(self.publish_camera)

    async def _retry_media(self, action: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Run ``action``, retrying while the engine restarts (``media_unavailable``)."""
        deadline = time.monotonic() + _MEDIA_RETRY_S
        delay = 0.25
        while True:
            try:
                await action()
                return
            except SignalError as exc:
                if exc.code != "media_unavailable" or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 4.0)

    def _detach_peer_connections(self) -> list[RTCPeerConnection]:
        pcs = [r.pc for r in self.feeds.values() if r.pc is not None]
        if self._publisher is not None:
            pcs.append(self._publisher)
            self._publisher = None
        for remote in self.feeds.values():
            remote.pc = None
        return pcs

    async def _close_peer_connections(self) -> None:
        pcs = self._detach_peer_connections()
        await asyncio.gather(*(pc.close() for pc in pcs), return_exceptions=True)

    def _spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            logger.warning("%s: %s failed: %r", self.name, task.get_name(), exc)
            self.errors.append(f"{task.get_name()}: {exc!r}")


def _prefer_codec(transceiver: RTCRtpTransceiver, mime_type: str) -> None:
    """Offer only ``mime_type`` (and its RTX) so Janus picks what the synthetic source produces."""
    kind = mime_type.split("/")[0]
    capabilities = RTCRtpSender.getCapabilities(kind)
    preferred = [c for c in capabilities.codecs if c.mimeType.lower() in (mime_type.lower(), f"{kind}/rtx")]
    transceiver.setCodecPreferences(preferred)
