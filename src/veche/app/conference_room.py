"""One running conference on this app server: its participants' connections and their media in the engine."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from veche.app.connection import ClientConnection
from veche.app.media_engine import MediaEngine, MediaEngineError, MediaEngineUnavailable
from veche.app.signal_messages import PROTOCOL_VERSION, SignalError
from veche.domain.chat_rate import ChatRateLimit
from veche.domain.model import VideoCodec
from veche.domain.room import ChatEntry, Feed, FeedSource, RoomFull, RoomParticipant, RoomState
from veche.domain.ticket import JoinTicket

__all__ = ["ConferenceRoom"]

logger = logging.getLogger(__name__)

ChatSink = Callable[[int, ChatEntry], Awaitable[None]]


def _new_id() -> int:
    # Janus feed ids are JSON numbers: stay within 2^53.
    return secrets.randbits(52) | 1


def _participant_json(p: RoomParticipant) -> dict[str, Any]:
    return {
        "id": p.id,
        "display_name": p.display_name,
        "guest": p.guest,
        "role": p.role.value,
        "audio": p.audio,
        "video": p.video,
        "force_muted": p.force_muted,
    }


def _feed_json(f: Feed) -> dict[str, Any]:
    return {"feed": f.feed, "participant": f.participant, "source": f.source.value, "video_codec": f.video_codec}


# The VP9 layers a camera sends: 3 spatial (1/4, 1/2, full size) x 3 temporal, with keyframes per layer
# (Chromium's L3T3_KEY), so a viewer switched to another spatial layer only needs that layer's keyframe.
SVC_SCALABILITY_MODE = "L3T3_KEY"
# Why a VP8-only client is told it will not see VP9 video (docs/protocol.md: `media.fallback`).
VP9_UNSUPPORTED = "vp9_unsupported"


def _chat_json(c: ChatEntry) -> dict[str, Any]:
    return {"from": c.sender, "display_name": c.display_name, "text": c.text, "ts": c.ts}


# What a participant over the chat rate limit is told (docs/protocol.md: `rate_limited`).
RATE_LIMITED_MESSAGE = "You are sending messages too fast; wait a moment."


def _engine_error(e: MediaEngineError) -> SignalError:
    if isinstance(e, MediaEngineUnavailable):
        return SignalError("media_unavailable", "The media server is restarting; you will be reconnected.")
    return SignalError("media_error", str(e))


class ConferenceRoom:
    """Applies :class:`RoomState` rules and drives the engine. All methods run on the event loop."""

    def __init__(
        self,
        conference_id: int,
        name: str,
        conference_type: str,
        max_participants: int,
        engine: MediaEngine,
        *,
        bitrate_bps: int,
        chat_sink: ChatSink,
        video_codec: VideoCodec = VideoCodec.VP8,
        chat_rate: ChatRateLimit | None = None,
        clock_s: Callable[[], float] = time.monotonic,
    ) -> None:
        self.conference_id = conference_id
        self.name = name
        self.type = conference_type
        self.state = RoomState(max_participants=max_participants)
        self._engine = engine
        self._bitrate = bitrate_bps
        self.video_codec = video_codec
        self._chat_sink = chat_sink
        self._chat_rate = chat_rate if chat_rate is not None else ChatRateLimit()
        # Seconds for the chat rate limit; replaceable (tests move time on without sleeping).
        self.clock_s = clock_s
        self._connections: dict[str, ClientConnection] = {}
        # (subscriber participant id, feed) -> engine subscription id
        self._subscriptions: dict[tuple[str, int], int] = {}

    # -- membership -------------------------------------------------------------------------------------------

    def join(
        self,
        ticket: JoinTicket,
        connection: ClientConnection,
        request_id: int | None = None,
        *,
        video_codecs: frozenset[str] | None = None,
    ) -> RoomParticipant:
        participant = RoomParticipant(
            id=secrets.token_hex(8),
            identity=ticket.identity,
            display_name=ticket.display_name,
            role=ticket.role,
            guest=ticket.guest,
        )
        if video_codecs is not None:
            participant.video_codecs = video_codecs
        try:
            self.state.add(participant)
        except RoomFull as e:
            raise SignalError("conference_full", str(e)) from e
        self._connections[participant.id] = connection
        connection.send(
            {
                **({"id": request_id} if request_id is not None else {}),
                "type": "joined",
                "v": PROTOCOL_VERSION,
                "participant": participant.id,
                "conference": {"id": self.conference_id, "name": self.name, "type": self.type},
                "role": participant.role.value,
                "can_publish": participant.can_publish,
                "participants": [_participant_json(p) for p in self.state.participants.values()],
                "feeds": [_feed_json(f) for f in self.state.feeds.values()],
                "chat": [_chat_json(c) for c in self.state.chat],
                "media": self._media_json(participant),
            }
        )
        self._broadcast({"type": "participant_joined", "participant": _participant_json(participant)}, participant.id)
        logger.info("conference %s: %s joined (%s)", self.conference_id, participant.id, participant.role.value)
        return participant

    async def leave(self, participant_id: str) -> None:
        if participant_id not in self.state.participants:
            return
        self._connections.pop(participant_id, None)
        self._chat_rate.forget(participant_id)
        gone = self.state.remove(participant_id)
        for (subscriber, feed_id), sub in list(self._subscriptions.items()):
            if subscriber == participant_id:
                del self._subscriptions[(subscriber, feed_id)]
                await self._quietly(self._engine.unsubscribe(self.conference_id, sub))
        for feed in gone:
            await self._drop_feed(feed)
        self._broadcast({"type": "participant_left", "participant": participant_id})
        logger.info("conference %s: %s left", self.conference_id, participant_id)

    @property
    def empty(self) -> bool:
        return self.state.empty

    # -- media ------------------------------------------------------------------------------------------------

    def _media_json(self, participant: RoomParticipant) -> dict[str, Any]:
        """How this participant should send video here, and whether he will miss some (VP9 he cannot decode)."""
        if self.video_codec is VideoCodec.VP9 and "vp9" in participant.video_codecs:
            return {"video_codec": "vp9", "scalability_mode": SVC_SCALABILITY_MODE, "fallback": None}
        fallback = VP9_UNSUPPORTED if self.video_codec is VideoCodec.VP9 else None
        return {"video_codec": "vp8", "scalability_mode": None, "fallback": fallback}

    async def publish(
        self, participant_id: str, source: FeedSource, sdp: str, *, scalability_mode: str | None = None
    ) -> tuple[int, str]:
        participant = self._participant(participant_id)
        if not participant.can_publish:
            raise SignalError("not_allowed", "In this moderated conference only speakers may publish.")
        old = self.state.feed_of(participant_id, source)
        if old is not None:
            self.state.remove_feed(old.feed)
            await self._drop_feed(old)
        feed_id = _new_id()
        try:
            await self._engine.ensure_room(
                self.conference_id,
                max_publishers=max(2 * self.state.max_participants, 4),
                bitrate_bps=self._bitrate,
                video_codec=self.video_codec,
            )
            result = await self._engine.publish(
                self.conference_id, feed_id, participant.display_name, sdp, scalability_mode=scalability_mode
            )
            if source is FeedSource.CAMERA and participant.force_muted:
                await self._engine.set_feed_muted(self.conference_id, feed_id, audio=True, video=None)
        except MediaEngineError as e:
            raise _engine_error(e) from e
        if participant_id not in self.state.participants:  # left while we were publishing
            await self._quietly(self._engine.unpublish(self.conference_id, feed_id))
            raise SignalError("not_joined", "You left the conference.")
        feed = Feed(feed=feed_id, participant=participant_id, source=source, video_codec=result.video_codec)
        self.state.add_feed(feed)
        self._broadcast({"type": "feed_added", "feed": _feed_json(feed)}, participant_id)
        return feed_id, result.answer_sdp

    async def unpublish(self, participant_id: str, source: FeedSource) -> None:
        self._participant(participant_id)
        feed = self.state.feed_of(participant_id, source)
        if feed is not None:
            self.state.remove_feed(feed.feed)
            await self._drop_feed(feed)

    async def subscribe(self, participant_id: str, feed_id: int) -> tuple[str, str | None]:
        """Janus's offer for ``feed_id``, and why its video is left out (None: it is not)."""
        participant = self._participant(participant_id)
        feed = self.state.feeds.get(feed_id)
        if feed is None:
            raise SignalError("unknown_feed", f"Feed {feed_id} is not published in this conference.")
        withheld = None
        if feed.video_codec is not None and feed.video_codec not in participant.video_codecs:
            withheld = f"{feed.video_codec}_unsupported"
        previous = self._subscriptions.pop((participant_id, feed_id), None)
        if previous is not None:
            await self._quietly(self._engine.unsubscribe(self.conference_id, previous))
        sub = _new_id()
        try:
            result = await self._engine.subscribe(self.conference_id, sub, feed_id, video=withheld is None)
        except MediaEngineError as e:
            raise _engine_error(e) from e
        self._subscriptions[(participant_id, feed_id)] = sub
        return result.offer_sdp, withheld

    async def answer_subscription(self, participant_id: str, feed_id: int, sdp: str) -> None:
        sub = self._subscription(participant_id, feed_id)
        try:
            await self._engine.answer_subscription(self.conference_id, sub, sdp)
        except MediaEngineError as e:
            raise _engine_error(e) from e

    async def unsubscribe(self, participant_id: str, feed_id: int) -> None:
        self._participant(participant_id)
        sub = self._subscriptions.pop((participant_id, feed_id), None)
        if sub is not None:
            await self._quietly(self._engine.unsubscribe(self.conference_id, sub))

    async def set_substream(self, participant_id: str, feed_id: int, substream: int) -> None:
        sub = self._subscription(participant_id, feed_id)
        try:
            await self._engine.set_substream(self.conference_id, sub, substream)
        except MediaEngineError as e:
            raise _engine_error(e) from e

    # -- conversation and moderation --------------------------------------------------------------------------

    async def set_state(self, participant_id: str, *, audio: bool, video: bool) -> None:
        participant = self._participant(participant_id)
        if audio and participant.force_muted:
            # Unmuting oneself after a moderator's mute is allowed (as in every major product); resume forwarding.
            participant.force_muted = False
            camera = self.state.feed_of(participant_id, FeedSource.CAMERA)
            if camera is not None:
                await self._quietly(
                    self._engine.set_feed_muted(self.conference_id, camera.feed, audio=False, video=None)
                )
        participant.audio, participant.video = audio, video
        self._broadcast({"type": "participant_updated", "participant": _participant_json(participant)})

    async def chat(self, participant_id: str, text: str) -> None:
        participant = self._participant(participant_id)
        if not self._chat_rate.allow(participant_id, self.clock_s()):
            # Neither shown nor stored: a flood costs the others and the database nothing.
            raise SignalError("rate_limited", RATE_LIMITED_MESSAGE)
        entry = ChatEntry(
            sender=participant_id,
            display_name=participant.display_name,
            text=text,
            ts=datetime.now(UTC).isoformat(timespec="milliseconds"),
        )
        self.state.chat.append(entry)
        self._broadcast({"type": "chat", "message": _chat_json(entry)})
        try:
            await self._chat_sink(self.conference_id, entry)
        except Exception:
            logger.exception("conference %s: storing a chat message failed", self.conference_id)

    async def moderate(self, moderator_name: str, target_id: str, action: str) -> None:
        """Mute or remove ``target_id``. The caller has checked the moderator's right to do so."""
        target = self.state.participants.get(target_id)
        if target is None:
            raise SignalError("unknown_participant", f"Participant {target_id} is not in this conference.")
        if action == "mute":
            target.force_muted, target.audio = True, False
            camera = self.state.feed_of(target_id, FeedSource.CAMERA)
            if camera is not None:
                try:
                    await self._engine.set_feed_muted(self.conference_id, camera.feed, audio=True, video=None)
                except MediaEngineError as e:
                    raise _engine_error(e) from e
            self._send(target_id, {"type": "force_muted", "by": moderator_name})
            self._broadcast({"type": "participant_updated", "participant": _participant_json(target)})
        elif action == "remove":
            connection = self._connections.get(target_id)
            if connection is not None:
                connection.send({"type": "removed", "by": moderator_name})
                connection.close_soon(4001, "removed by a moderator")
            await self.leave(target_id)
        else:
            raise SignalError("bad_request", f"Unknown moderation action {action!r}.")

    def moderator_name(self, participant_id: str) -> str:
        participant = self._participant(participant_id)
        if not participant.can_moderate:
            raise SignalError("not_allowed", "Only the owner and moderators may moderate this conference.")
        return participant.display_name

    # -- engine restart ---------------------------------------------------------------------------------------

    def on_engine_restart(self) -> None:
        """Everything in the engine is gone: forget feeds and subscriptions and tell clients to publish again."""
        self.state.feeds.clear()
        self._subscriptions.clear()
        for connection in self._connections.values():
            connection.send({"type": "media_reset"})

    async def close(self) -> None:
        await self._quietly(self._engine.destroy_room(self.conference_id))

    # -- internals --------------------------------------------------------------------------------------------

    def _participant(self, participant_id: str) -> RoomParticipant:
        participant = self.state.participants.get(participant_id)
        if participant is None:
            raise SignalError("not_joined", "You are not in this conference.")
        return participant

    def _subscription(self, participant_id: str, feed_id: int) -> int:
        self._participant(participant_id)
        sub = self._subscriptions.get((participant_id, feed_id))
        if sub is None:
            raise SignalError("unknown_feed", f"You are not subscribed to feed {feed_id}.")
        return sub

    async def _drop_feed(self, feed: Feed) -> None:
        """A feed stopped: end every subscription to it, then the publisher."""
        for (subscriber, feed_id), sub in list(self._subscriptions.items()):
            if feed_id == feed.feed:
                del self._subscriptions[(subscriber, feed_id)]
                await self._quietly(self._engine.unsubscribe(self.conference_id, sub))
        await self._quietly(self._engine.unpublish(self.conference_id, feed.feed))
        self._broadcast({"type": "feed_removed", "feed": feed.feed})

    def _send(self, participant_id: str, message: dict[str, Any]) -> None:
        connection = self._connections.get(participant_id)
        if connection is not None:
            connection.send(message)

    def _broadcast(self, message: dict[str, Any], except_id: str | None = None) -> None:
        for participant_id, connection in self._connections.items():
            if participant_id != except_id:
                connection.send(message)

    async def _quietly(self, call: Awaitable[None]) -> None:
        try:
            await call
        except MediaEngineError as e:
            logger.debug("conference %s: engine cleanup failed: %s", self.conference_id, e)

    def live_participants(self) -> list[dict[str, Any]]:
        return [_participant_json(p) for p in self.state.participants.values()]
