"""The Janus VideoRoom implementation of :class:`~veche.app.media_engine.MediaEngine`.

One Janus session per engine; one plugin handle per publisher feed and per subscription, plus one
control handle for the room-level requests (create, destroy, moderate). Rooms are created on the
fly (never saved by Janus) with Opus audio and VP8 video (simulcast) or VP9 video (SVC, with VP8 for
clients that cannot send VP9); their secrets stay in this process. Layers are chosen per subscription:
the simulcast substream of a VP8 feed, the spatial layer of a VP9 SVC feed.

Every time Janus goes away (the child died, the WebSocket closed, the session timed out) the engine
is *down* (:mod:`veche.app.janus.connection`): every request fails at once with
:class:`MediaEngineUnavailable` and all rooms, publishers and subscriptions are forgotten. Once
Janus answers again the engine has a new session and a new epoch, and runs the restart listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from veche.app.janus.admin import JanusAdmin, JanusAdminError, counters_of
from veche.app.janus.client import JanusConnectionLost, JanusError, JanusHandle, JanusTimeout, PluginReply
from veche.app.janus.connection import VIDEOROOM, JanusConnection
from veche.app.janus.process import JanusProcess
from veche.app.janus.records import Publisher, Room, Subscription, stream_mids, video_stream
from veche.app.janus.sdp import first_video_codec, media_mids, video_sections
from veche.app.media_engine import (
    EngineInfo,
    MediaEngine,
    MediaEngineError,
    MediaEngineUnavailable,
    PublishResult,
    RestartListener,
    SubscribeResult,
)
from veche.config.janus import JanusConfig
from veche.domain.call_history import MediaCounters
from veche.domain.layers import RECOVER_AFTER_S, TOP_LAYER
from veche.domain.model import VideoCodec

__all__ = ["JanusMediaEngine"]

logger = logging.getLogger(__name__)

_CLEANUP_TIMEOUT_S = 2.0
# Janus 1.4 sends a publisher at most one keyframe request (PLI) a second and, for a local publisher, drops
# the ones asked for meanwhile (it means to send them later but never does). A viewer switches to another
# simulcast stream or SVC spatial layer only at a keyframe, so he could wait forever for the layer his tile
# asked for: until Janus reports that layer, Veche asks for a keyframe again just after that window.
_KEYFRAME_RETRY_S = 1.1
_KEYFRAME_RETRIES = 8

# VideoRoom error codes (janus_videoroom.c) and the Janus core ones that mean "our session is gone".
_NO_SUCH_ROOM = 426
_ROOM_EXISTS = 427
_NO_SUCH_FEED = 428
_PUBLISHERS_FULL = 432
_UNAUTHORIZED = 433
_ID_EXISTS = 436
_SESSION_NOT_FOUND = 458
_HANDLE_NOT_FOUND = 459
_ERROR_TEXT = {
    _NO_SUCH_ROOM: "no such room",
    _NO_SUCH_FEED: "no such feed",
    _PUBLISHERS_FULL: "the room has reached its maximum number of publishers",
    _UNAUTHORIZED: "not allowed (the room exists in Janus with another secret)",
    _ID_EXISTS: "this feed id is already in use in the room",
}


class JanusMediaEngine(MediaEngine):
    """Drives Janus's VideoRoom plugin; runs Janus as a child unless ``config.ws_url`` is set."""

    def __init__(self, config: JanusConfig, data_dir: Path) -> None:
        self.config = config
        self.data_dir = Path(data_dir)
        self._link = JanusConnection(config, self.data_dir, on_down=self._forget_everything, on_restored=self._restored)
        self._listeners: list[RestartListener] = []
        self._rooms: dict[int, Room] = {}
        self._publishers: dict[tuple[int, int], Publisher] = {}
        self._subscriptions: dict[tuple[int, int], Subscription] = {}
        self._room_lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        self._room_key = b""
        self._admin: JanusAdmin | None = None  # media counters for the call history (Janus children only)

    # ----------------------------------------------------------------- lifecycle

    @property
    def process(self) -> JanusProcess | None:
        """The Janus child process, or None when connected to an external Janus."""
        return self._link.process

    async def start(self) -> None:
        await self._link.start()
        # Room secrets derive from the API secret: a room created by a request whose answer was lost
        # (within the epoch) can still be adopted. Without an API secret, a random key does.
        self._room_key = (self._link.api_secret or secrets.token_hex(16)).encode()

    async def stop(self) -> None:
        self._forget_everything()
        for task in list(self._background):
            task.cancel()
        if self._admin is not None:
            await self._admin.close()
            self._admin = None
        await self._link.stop()

    async def info(self) -> EngineInfo:
        link = self._link
        return EngineInfo(name="janus", version=link.version, up=link.up, epoch=link.epoch, pid=link.pid)

    def add_restart_listener(self, listener: RestartListener) -> None:
        self._listeners.append(listener)

    # ----------------------------------------------------------------- rooms

    async def ensure_room(
        self, room: int, *, max_publishers: int, bitrate_bps: int, video_codec: VideoCodec = VideoCodec.VP8
    ) -> None:
        self._require_up()
        if max_publishers < 1 or bitrate_bps < 0:
            raise MediaEngineError("a room needs max_publishers >= 1 and bitrate_bps >= 0")
        async with self._room_lock:
            if room in self._rooms:
                return
            control = self._link.control
            state = Room(self._room_secret(room), max_publishers, bitrate_bps, video_codec)
            body = {
                "request": "create",
                "room": room,
                "permanent": False,
                "description": f"veche-{room}",
                "secret": state.secret,
                "is_private": True,
                "publishers": max_publishers,
                "bitrate": bitrate_bps,
                "audiocodec": "opus",
                "videocodec": ",".join(video_codec.accepted),
                "vp9_profile": "0",  # the profile every VP9 decoder has (Chromium also offers profile 2)
                "notify_joining": False,
            }
            try:
                await self._message(control, body, what=f"create room {room}")
            except MediaEngineError as exc:
                if getattr(exc.__cause__, "code", None) != _ROOM_EXISTS:
                    raise
                # Created earlier in this epoch by a request whose answer we lost: same derived secret.
                edit = {
                    "request": "edit",
                    "room": room,
                    "secret": state.secret,
                    "new_publishers": max_publishers,
                    "new_bitrate": bitrate_bps,
                }
                await self._message(control, edit, what=f"adopt existing room {room}")
            self._rooms[room] = state
            logger.debug(
                "created room %s (publishers %s, bitrate %s, %s)", room, max_publishers, bitrate_bps, video_codec
            )

    async def destroy_room(self, room: int) -> None:
        if not self._link.up:
            return  # every room went away with Janus
        async with self._room_lock:
            state = self._rooms.pop(room, None)
            publishers = [p for key, p in self._publishers.items() if key[0] == room]
            subscriptions = [s for key, s in self._subscriptions.items() if key[0] == room]
            for pub in publishers:
                self._publishers.pop((pub.room, pub.feed), None)
                pub.close()
            for sub in subscriptions:
                self._subscriptions.pop((sub.room, sub.subscription), None)
                sub.close()
            if state is not None:
                body = {"request": "destroy", "room": room, "secret": state.secret, "permanent": False}
                try:
                    await self._message(self._link.control, body, what=f"destroy room {room}")
                except MediaEngineUnavailable:
                    raise
                except MediaEngineError as exc:
                    if getattr(exc.__cause__, "code", None) != _NO_SUCH_ROOM:
                        raise
            handles = [p.handle for p in publishers] + [s.handle for s in subscriptions]
            await asyncio.gather(*(self._detach_quietly(handle) for handle in handles))

    # ----------------------------------------------------------------- publishers

    async def publish(
        self, room: int, feed: int, display: str, offer_sdp: str, *, scalability_mode: str | None = None
    ) -> PublishResult:
        self._require_up()
        key = (room, feed)
        if key in self._publishers:
            raise MediaEngineError(f"feed {feed} is already published in room {room}")
        handle = await self._attach(lambda event: self._on_publisher_event(key, event))
        pub = Publisher(room, feed, handle)
        self._publishers[key] = pub
        body = {
            "request": "joinandconfigure",
            "ptype": "publisher",
            "room": room,
            "id": feed,
            "display": display,
        }
        jsep: dict[str, Any] = {"type": "offer", "sdp": offer_sdp}
        if scalability_mode is not None:
            # How Janus learns that a video m-line is SVC (janus.js sends the same from getParameters()).
            jsep["svc"] = [
                {"mindex": mindex, "mid": mid, "svc": scalability_mode} for mindex, mid in video_sections(offer_sdp)
            ]
        try:
            reply = await self._message(handle, body, jsep=jsep, what=f"publish feed {feed}")
            answer = reply.jsep or {}
            if answer.get("type") != "answer" or not answer.get("sdp"):
                raise MediaEngineError(f"publish feed {feed}: Janus sent no SDP answer")
        except BaseException:
            if self._publishers.get(key) is pub:
                del self._publishers[key]
            pub.close()
            await self._detach_quietly(handle)
            raise
        mids = stream_mids(reply.data, own_feed=feed) or media_mids(str(answer["sdp"]))
        pub.audio_mids = mids.get("audio", [])
        pub.video_mids = mids.get("video", [])
        codec, pub.svc, pub.simulcast = video_stream(reply.data, own_feed=feed)
        codec = codec or (first_video_codec(str(answer["sdp"])) if pub.video_mids else None)
        logger.debug(
            "feed %s published in room %s (audio %s, video %s %s%s)",
            feed,
            room,
            pub.audio_mids,
            pub.video_mids,
            codec,
            " SVC" if pub.svc else " simulcast" if pub.simulcast else "",
        )
        return PublishResult(answer_sdp=str(answer["sdp"]), video_codec=codec)

    async def unpublish(self, room: int, feed: int) -> None:
        pub = self._publishers.pop((room, feed), None)
        if pub is None:
            return
        pub.close()
        if not self._link.up:
            return
        with contextlib.suppress(MediaEngineError):
            await self._message(pub.handle, {"request": "leave"}, what="leave", timeout=_CLEANUP_TIMEOUT_S)
        await self._detach_quietly(pub.handle)

    async def set_feed_muted(self, room: int, feed: int, *, audio: bool | None, video: bool | None) -> None:
        self._require_up()
        pub = self._publishers.get((room, feed))
        if pub is None:
            raise MediaEngineError(f"unknown feed {feed} in room {room}")
        state = self._rooms.get(room)
        if state is None:
            raise MediaEngineError(f"room {room} was not created by this media engine")
        control = self._link.control
        for muted, mids, kind in ((audio, pub.audio_mids, "audio"), (video, pub.video_mids, "video")):
            if muted is None:
                continue
            for mid in mids:
                body = {
                    "request": "moderate",
                    "room": room,
                    "secret": state.secret,
                    "id": feed,
                    "mid": mid,
                    "mute": muted,
                }
                await self._message(control, body, what=f"moderate {kind} of feed {feed}")
            if kind == "audio":
                pub.audio_muted = muted
            else:
                pub.video_muted = muted

    # ----------------------------------------------------------------- subscriptions

    async def subscribe(self, room: int, subscription: int, feed: int, *, video: bool = True) -> SubscribeResult:
        self._require_up()
        await self._wait_feed_media(room, feed)
        streams: list[dict[str, Any]] = [{"feed": feed}]
        if not video:
            pub = self._publishers.get((room, feed))
            if pub is None or not pub.audio_mids:
                raise MediaEngineError(f"feed {feed} has no audio to receive without its video")
            streams = [{"feed": feed, "mid": mid} for mid in pub.audio_mids]
        key = (room, subscription)
        if key in self._subscriptions:
            raise MediaEngineError(f"subscription {subscription} already exists in room {room}")
        handle = await self._attach(lambda event: self._on_subscription_event(key, event))
        pub = self._publishers.get((room, feed))
        sub = Subscription(room, subscription, feed, handle)
        if video and pub is not None:
            sub.svc, sub.layered = pub.svc, pub.svc or pub.simulcast
        self._subscriptions[key] = sub
        body = {"request": "join", "ptype": "subscriber", "room": room, "streams": streams}
        try:
            reply = await self._message(handle, body, what=f"subscribe to feed {feed}")
            offer = reply.jsep or {}
            if offer.get("type") != "offer" or not offer.get("sdp"):
                raise MediaEngineError(f"subscribe to feed {feed}: Janus sent no SDP offer")
        except BaseException:
            if self._subscriptions.get(key) is sub:
                del self._subscriptions[key]
            await self._detach_quietly(handle)
            raise
        streams = reply.data.get("streams") or []
        sub.video_mids = [str(s["mid"]) for s in streams if s.get("type") == "video" and "mid" in s]
        if not streams:
            sub.video_mids = media_mids(str(offer["sdp"])).get("video", [])
        return SubscribeResult(offer_sdp=str(offer["sdp"]))

    async def answer_subscription(self, room: int, subscription: int, answer_sdp: str) -> None:
        self._require_up()
        sub = self._subscription(room, subscription)
        await self._message(
            sub.handle,
            {"request": "start"},
            jsep={"type": "answer", "sdp": answer_sdp},
            what=f"start subscription {subscription}",
        )
        self._until_layer_reached(sub)

    async def set_substream(self, room: int, subscription: int, substream: int) -> None:
        self._require_up()
        if substream not in (0, 1, 2):
            raise MediaEngineError(f"substream must be 0, 1 or 2, not {substream}")
        sub = self._subscription(room, subscription)
        if not sub.video_mids:
            raise MediaEngineError(f"subscription {subscription} receives no video")
        await self._apply_layer(sub, sub.choice.want(substream))

    async def _apply_layer(self, sub: Subscription, layer: int) -> None:
        """Tell Janus which layer ``sub`` receives: the simulcast substream, or the SVC spatial layer."""
        if sub.svc:
            fields: dict[str, int] = {"spatial_layer": layer, "temporal_layer": 2}
        else:
            fields = {"substream": layer}
        body = {"request": "configure", "streams": [{"mid": mid, **fields} for mid in sub.video_mids]}
        sub.layer_target = layer
        if sub.layer_current != layer:
            sub.layer_reached.clear()
        await self._message(sub.handle, body, what=f"set the layer of subscription {sub.subscription}")
        self._until_layer_reached(sub)

    def _on_downlink_loss(self, sub: Subscription) -> None:
        """Janus says the viewer's connection loses video packets: one layer less for a while."""
        loop = asyncio.get_running_loop()
        if not sub.choice.on_packet_loss(loop.time()):
            return
        logger.info(
            "subscription %s loses packets: layer %s (its tile wants %s)",
            sub.subscription,
            sub.choice.layer,
            sub.choice.wanted,
        )
        self._spawn(self._apply_layer_quietly(sub), f"janus-layer-{sub.subscription}")
        self._schedule_recovery(sub)

    def _schedule_recovery(self, sub: Subscription) -> None:
        if sub.recovery is not None:
            sub.recovery.cancel()
        sub.recovery = asyncio.get_running_loop().call_later(RECOVER_AFTER_S + 0.1, self._try_recover, sub)

    def _try_recover(self, sub: Subscription) -> None:
        sub.recovery = None
        if self._subscriptions.get((sub.room, sub.subscription)) is not sub:
            return
        if sub.choice.on_quiet(asyncio.get_running_loop().time()):
            logger.info("subscription %s: downlink quiet, layer %s again", sub.subscription, sub.choice.layer)
            self._spawn(self._apply_layer_quietly(sub), f"janus-layer-{sub.subscription}")
        if sub.choice.cap < TOP_LAYER:
            self._schedule_recovery(sub)

    async def _apply_layer_quietly(self, sub: Subscription) -> None:
        if self._subscriptions.get((sub.room, sub.subscription)) is not sub or not self._link.up:
            return
        with contextlib.suppress(MediaEngineError):
            await self._apply_layer(sub, sub.choice.layer)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def unsubscribe(self, room: int, subscription: int) -> None:
        sub = self._subscriptions.pop((room, subscription), None)
        if sub is not None:
            sub.close()
        if sub is None or not self._link.up:
            return
        with contextlib.suppress(MediaEngineError):
            await self._message(sub.handle, {"request": "leave"}, what="leave", timeout=_CLEANUP_TIMEOUT_S)
        await self._detach_quietly(sub.handle)

    # ----------------------------------------------------------------- media counters (the call history)

    async def feed_counters(self, room: int, feed: int) -> MediaCounters | None:
        pub = self._publishers.get((room, feed))
        info = await self._handle_info(pub.handle) if pub is not None else None
        return counters_of(info)[0] if info is not None else None

    async def subscription_counters(self, room: int, subscription: int) -> MediaCounters | None:
        sub = self._subscriptions.get((room, subscription))
        info = await self._handle_info(sub.handle) if sub is not None else None
        return counters_of(info)[1] if info is not None else None

    async def _handle_info(self, handle: JanusHandle) -> dict[str, Any] | None:
        """Janus's admin view of one handle; None without the admin API (an external Janus) or when it fails."""
        process, secret = self._link.process, self._link.api_secret
        url = process.admin_ws_url if process is not None else None
        if url is None or secret is None or not self._link.up:
            return None
        if self._admin is None or self._admin.url != url:  # a restarted Janus listens on a new port
            if self._admin is not None:
                await self._admin.close()
            self._admin = JanusAdmin(url, secret)
        try:
            return await self._admin.handle_info(handle.session.id, handle.id)
        except JanusAdminError as e:
            logger.debug("no media counters for handle %s: %s", handle.id, e)
            return None

    async def _wait_feed_media(self, room: int, feed: int) -> None:
        """Wait until a feed published here has its PeerConnection up (Janus's condition to subscribe)."""
        pub = self._publishers.get((room, feed))
        if pub is None:
            return  # unknown here: let Janus answer "no such feed"
        if not pub.settled.is_set():
            try:
                async with asyncio.timeout(self.config.request_timeout_s):
                    await pub.settled.wait()
            except TimeoutError:
                raise MediaEngineError(
                    f"feed {feed} in room {room} has not connected its media within {self.config.request_timeout_s:g} s"
                ) from None
        self._require_up()
        if pub.closed:
            raise MediaEngineError(f"feed {feed} in room {room} was unpublished")
        if pub.hung_up:
            raise MediaEngineError(f"feed {feed} in room {room} stopped sending media")

    # ----------------------------------------------------------------- introspection for tests and health

    def feed_muted(self, room: int, feed: int) -> tuple[bool, bool] | None:
        """(audio muted, video muted) as last set by :meth:`set_feed_muted`, or None for an unknown feed."""
        pub = self._publishers.get((room, feed))
        return None if pub is None else (pub.audio_muted, pub.video_muted)

    # ----------------------------------------------------------------- plumbing

    def _require_up(self) -> None:
        self._link.require_up()

    def _subscription(self, room: int, subscription: int) -> Subscription:
        sub = self._subscriptions.get((room, subscription))
        if sub is None:
            raise MediaEngineError(f"unknown subscription {subscription} in room {room}")
        return sub

    def _room_secret(self, room: int) -> str:
        return hmac.new(self._room_key, f"veche-room-{room}".encode(), hashlib.sha256).hexdigest()[:32]

    async def _attach(self, on_event: Callable[[dict[str, Any]], None]) -> JanusHandle:
        session = self._link.session
        try:
            return await session.attach(VIDEOROOM, on_event=on_event)
        except (JanusConnectionLost, JanusTimeout) as exc:
            raise MediaEngineUnavailable(f"Janus is unavailable: {exc}") from exc
        except JanusError as exc:
            self._check_session_gone(exc)
            raise MediaEngineError(f"cannot attach to the VideoRoom plugin: {exc.reason}") from exc

    async def _message(
        self,
        handle: JanusHandle,
        body: dict[str, Any],
        *,
        what: str,
        jsep: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> PluginReply:
        try:
            return await handle.message(body, jsep=jsep, timeout=timeout)
        except JanusConnectionLost as exc:
            raise MediaEngineUnavailable(f"{what}: lost the connection to Janus") from exc
        except JanusTimeout as exc:
            raise MediaEngineUnavailable(f"{what}: Janus did not answer in time") from exc
        except JanusError as exc:
            self._check_session_gone(exc)
            text = _ERROR_TEXT.get(exc.code, exc.reason)
            raise MediaEngineError(f"{what}: {text}") from exc

    def _check_session_gone(self, exc: JanusError) -> None:
        if exc.code in (_SESSION_NOT_FOUND, _HANDLE_NOT_FOUND) and self._link.up:
            if exc.code == _SESSION_NOT_FOUND:
                self._link.go_down("Janus no longer knows our session")
            raise MediaEngineUnavailable("the media engine is restarting; retry after media_reset") from exc

    async def _detach_quietly(self, handle: JanusHandle) -> None:
        with contextlib.suppress(JanusConnectionLost, JanusTimeout, JanusError):
            await handle.detach(timeout=_CLEANUP_TIMEOUT_S)

    def _forget_everything(self) -> None:
        """Janus went away (or the engine stops): every room, feed and subscription is gone."""
        for pub in self._publishers.values():
            pub.close()
        for sub in self._subscriptions.values():
            sub.close()
        self._rooms.clear()
        self._publishers.clear()
        self._subscriptions.clear()

    async def _restored(self) -> None:
        for listener in list(self._listeners):
            try:
                await listener()
            except Exception:
                logger.exception("media engine restart listener failed")

    def _on_publisher_event(self, key: tuple[int, int], event: dict[str, Any]) -> None:
        pub = self._publishers.get(key)
        kind = event.get("janus")
        if pub is not None and pub.handle.id == event.get("sender"):
            if kind == "webrtcup":
                pub.settled.set()
            elif kind == "hangup":
                pub.hung_up = True
                pub.settled.set()
        self._on_handle_event(f"publisher {key[0]}/{key[1]}", event)

    def _until_layer_reached(self, sub: Subscription) -> None:
        """For a simulcast or SVC subscription: ask for keyframes until Janus reports the layer asked for."""
        if not sub.layered or sub.layer_reached.is_set():
            return
        if sub.keyframe_task is None or sub.keyframe_task.done():
            sub.keyframe_task = asyncio.get_running_loop().create_task(
                self._request_keyframes(sub), name=f"janus-keyframes-{sub.subscription}"
            )

    async def _request_keyframes(self, sub: Subscription) -> None:
        for _ in range(_KEYFRAME_RETRIES):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_KEYFRAME_RETRY_S):
                    await sub.layer_reached.wait()
                    return
            if self._subscriptions.get((sub.room, sub.subscription)) is not sub or not self._link.up:
                return
            logger.debug(
                "subscription %s: layer %s not reached (at %s); asking for a keyframe",
                sub.subscription,
                sub.layer_target,
                sub.layer_current,
            )
            await self._ask_keyframe(sub)

    async def _ask_keyframe(self, sub: Subscription) -> None:
        """Make Janus send ``sub``'s publisher a PLI now."""
        # A subscriber's configure has no "keyframe" option; "send": true on its video asks the publisher for one
        # ("Restoring video for subscriber") and changes nothing else when it is already sending.
        body = {"request": "configure", "streams": [{"mid": mid, "send": True} for mid in sub.video_mids]}
        with contextlib.suppress(MediaEngineError):
            await self._message(sub.handle, body, what="keyframe request", timeout=_CLEANUP_TIMEOUT_S)

    def _on_subscription_event(self, key: tuple[int, int], event: dict[str, Any]) -> None:
        sub = self._subscriptions.get(key)
        # slowlink with uplink false: packets Janus sends this viewer are lost (NACKs); video only.
        if sub is not None and event.get("janus") == "slowlink" and event.get("uplink") is False:
            if sub.video_mids and event.get("media", "video") == "video":
                self._on_downlink_loss(sub)
        data = (event.get("plugindata") or {}).get("data") or {}
        # Janus reports the layer a viewer now receives: "spatial_layer" (SVC) or "substream" (simulcast).
        reported = data.get("spatial_layer" if sub is not None and sub.svc else "substream")
        if sub is not None and event.get("janus") == "event" and isinstance(reported, int):
            sub.layer_current = reported
            if sub.layer_current == sub.layer_target:
                sub.layer_reached.set()
        self._on_handle_event(f"subscription {key[0]}/{key[1]}", event)

    def _on_handle_event(self, owner: str, event: dict[str, Any]) -> None:
        kind = event.get("janus")
        if kind == "webrtcup":
            logger.debug("%s: WebRTC up", owner)
        elif kind == "hangup":
            logger.debug("%s: hangup (%s)", owner, event.get("reason", "no reason"))
        elif kind in ("media", "slowlink"):
            logger.debug(
                "%s: %s %s",
                owner,
                kind,
                {k: v for k, v in event.items() if k in ("type", "receiving", "mid", "uplink", "lost")},
            )
        elif kind == "event":
            data = (event.get("plugindata") or {}).get("data") or {}
            logger.debug("%s: VideoRoom event %s", owner, sorted(data))
        else:
            logger.debug("%s: Janus event %s", owner, kind)
