"""One running conference on this app server: its participants (of any kind) and their media in the engine.

Room logic raises :mod:`veche.domain.room_errors` and tells participants what happens with
:mod:`veche.domain.room_events`; each edge (the WebSocket endpoint, a gateway) maps both to its protocol.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from veche.app.admission import Admission, CountedAdmission, Seat
from veche.app.media_engine import MediaEngine, MediaEngineError, MediaEngineUnavailable
from veche.app.room_member import RoomMember
from veche.domain.admission import ParticipantRole
from veche.domain.chat_rate import ChatRateLimit
from veche.domain.model import VideoCodec
from veche.domain.room import ChatEntry, Feed, FeedSource, ParticipantKind, RoomFull, RoomParticipant, RoomState
from veche.domain.room_errors import (
    ConferenceFull,
    MediaFailed,
    MediaUnavailable,
    NotAllowed,
    NotJoined,
    ParticipantBanned,
    RoomError,
    RoomRateLimited,
    StaleTicket,
    UnknownFeed,
    UnknownParticipant,
)
from veche.domain.room_events import (
    ChatSaid,
    FeedPublished,
    FeedUnpublished,
    ForceMuted,
    MediaPlan,
    MediaReset,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantUpdated,
    ParticipantView,
    Removed,
    RoleChanged,
    RoomEvent,
    RoomSnapshot,
    SessionEnded,
)
from veche.domain.ticket import JoinTicket

__all__ = ["MODERATION_ACTIONS", "ConferenceRoom", "RemovedParticipant"]

logger = logging.getLogger(__name__)

ChatSink = Callable[[int, ChatEntry], Awaitable[None]]


def _new_id() -> int:
    # Janus feed ids are JSON numbers: stay within 2^53.
    return secrets.randbits(52) | 1


# The VP9 layers a camera sends: 3 spatial (1/4, 1/2, full size) x 3 temporal, with keyframes per layer
# (Chromium's L3T3_KEY), so a viewer switched to another spatial layer only needs that layer's keyframe.
SVC_SCALABILITY_MODE = "L3T3_KEY"
# Why a VP8-only client is told it will not see VP9 video (docs/protocol.md: `media.fallback`).
VP9_UNSUPPORTED = "vp9_unsupported"

# What a participant over the chat rate limit is told (docs/protocol.md: `rate_limited`).
RATE_LIMITED_MESSAGE = "You are sending messages too fast; wait a moment."


# What a moderator may do to a participant (docs/protocol.md, `moderate`); "readmit" names an identity instead.
MODERATION_ACTIONS = ("mute", "remove", "readmit", "make_speaker", "make_listener", "lower_hand")


def _engine_error(e: MediaEngineError) -> RoomError:
    if isinstance(e, MediaEngineUnavailable):
        return MediaUnavailable("The media server is restarting; you will be reconnected.")
    return MediaFailed(str(e))


class RemovedParticipant:
    """Someone a moderator removed: kept out of this conference until a moderator lets him back."""

    def __init__(self, identity: str, display_name: str, by: str) -> None:
        self.identity, self.display_name, self.by = identity, display_name, by


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
        admission: Admission | None = None,
        epoch: int = 0,
        on_left: Callable[[ConferenceRoom, RoomParticipant], None] | None = None,
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
        self._admission = admission if admission is not None else CountedAdmission()
        # The placement epoch this room runs under: tickets of an older placement are stale here.
        self.epoch = epoch
        self._on_left = on_left
        # Seconds for the chat rate limit; replaceable (tests move time on without sleeping).
        self.clock_s = clock_s
        self._members: dict[str, RoomMember] = {}
        self._seats: dict[str, Seat] = {}
        self._sessions: dict[str, str] = {}  # "identity session" -> participant id
        self.removed: dict[str, RemovedParticipant] = {}  # identity -> who removed him
        # identity -> the role a moderator gave him here; it outlives his connection (a reconnect keeps it)
        self.granted_roles: dict[str, ParticipantRole] = {}
        # (subscriber participant id, feed) -> engine subscription id
        self._subscriptions: dict[tuple[str, int], int] = {}

    # -- membership -------------------------------------------------------------------------------------------

    async def join(
        self,
        ticket: JoinTicket,
        member: RoomMember,
        *,
        video_codecs: frozenset[str] | None = None,
        kind: ParticipantKind = ParticipantKind.BROWSER,
    ) -> RoomSnapshot:
        """Admit one participant: the conference's rules, then a license seat. Raises a :class:`RoomError`."""
        if ticket.epoch < self.epoch:
            raise StaleTicket("The conference has moved since this ticket was issued; asking for a new one.")
        self.epoch = max(self.epoch, ticket.epoch)
        if ticket.identity in self.removed:
            raise ParticipantBanned()
        session_key = f"{ticket.identity} {ticket.session}" if ticket.session else ""
        replaced = self._sessions.get(session_key) if session_key else None
        hand_raised = False
        if replaced is not None:
            previous = self.state.participants.get(replaced)
            hand_raised = previous is not None and previous.hand_raised  # the same person still asks to speak
            # The same participant reconnecting (or his ticket used twice): the newer connection wins, never both.
            old = self._members.get(replaced)
            if old is not None:
                old.deliver(SessionEnded("replaced", "You joined this conference from another connection."))
                old.disconnect("replaced")
            await self.leave(replaced)
        if len(self.state.participants) >= self.state.max_participants:
            raise ConferenceFull(f"The conference is full ({self.state.max_participants} participants).")
        seat = await self._admission.admit(ticket.identity, kind, ticket.guest)
        participant = RoomParticipant(
            id=secrets.token_hex(8),
            identity=ticket.identity,
            display_name=ticket.display_name,
            role=self._role_for(ticket),
            guest=ticket.guest,
            hand_raised=hand_raised,
            kind=kind,
            session=ticket.session,
            sign_in=ticket.sign_in,
        )
        if video_codecs is not None:
            participant.video_codecs = video_codecs
        if not participant.can_publish:
            participant.audio = participant.video = False  # a listener sends nothing: never shown as "mic on"
        try:
            self.state.add(participant)
        except RoomFull as e:  # filled while the seat was being leased
            seat.release()
            raise ConferenceFull(str(e)) from e
        self._members[participant.id] = member
        self._seats[participant.id] = seat
        if session_key:
            self._sessions[session_key] = participant.id
        snapshot = RoomSnapshot(
            conference_id=self.conference_id,
            name=self.name,
            type=self.type,
            you=ParticipantView.of(participant),
            participants=tuple(ParticipantView.of(p) for p in self.state.participants.values()),
            feeds=tuple(self.state.feeds.values()),
            chat=tuple(self.state.chat),
            media=self._media_plan(participant),
        )
        self._broadcast(ParticipantJoined(ParticipantView.of(participant)), participant.id)
        logger.info(
            "conference %s: %s joined (%s, %s)", self.conference_id, participant.id, kind.value, participant.role.value
        )
        return snapshot

    def _role_for(self, ticket: JoinTicket) -> ParticipantRole:
        """The ticket's role, unless a moderator changed it here (a moderator stays one whatever was granted)."""
        if ticket.role is ParticipantRole.MODERATOR:
            return ticket.role
        return self.granted_roles.get(ticket.identity, ticket.role)

    async def leave(self, participant_id: str) -> None:
        participant = self.state.participants.get(participant_id)
        if participant is None:
            return
        self._members.pop(participant_id, None)
        seat = self._seats.pop(participant_id, None)
        if seat is not None:
            seat.release()
        session_key = f"{participant.identity} {participant.session}"
        if participant.session and self._sessions.get(session_key) == participant_id:
            del self._sessions[session_key]
        self._chat_rate.forget(participant_id)
        gone = self.state.remove(participant_id)
        for (subscriber, feed_id), sub in list(self._subscriptions.items()):
            if subscriber == participant_id:
                del self._subscriptions[(subscriber, feed_id)]
                await self._quietly(self._engine.unsubscribe(self.conference_id, sub))
        for feed in gone:
            await self._drop_feed(feed)
        self._broadcast(ParticipantLeft(participant_id))
        if self._on_left is not None:
            self._on_left(self, participant)
        logger.info("conference %s: %s left", self.conference_id, participant_id)

    async def end_sessions(self, identity: str, code: str, message: str, *, sign_in: str = "") -> int:
        """End the connections of ``identity`` here (all, or those of one ``sign_in``); how many ended."""
        ids = [
            p.id
            for p in self.state.participants.values()
            if p.identity == identity and (not sign_in or p.sign_in == sign_in)
        ]
        for participant_id in ids:
            member = self._members.get(participant_id)
            if member is not None:
                member.deliver(SessionEnded(code, message))
                member.disconnect(code)
            await self.leave(participant_id)
        return len(ids)

    def identities(self) -> set[str]:
        return {p.identity for p in self.state.participants.values()}

    @property
    def empty(self) -> bool:
        return self.state.empty

    # -- media ------------------------------------------------------------------------------------------------

    def _media_plan(self, participant: RoomParticipant) -> MediaPlan:
        """How this participant should send video here, and whether he will miss some (VP9 he cannot decode)."""
        if self.video_codec is VideoCodec.VP9 and "vp9" in participant.video_codecs:
            return MediaPlan("vp9", SVC_SCALABILITY_MODE)
        return MediaPlan("vp8", None, VP9_UNSUPPORTED if self.video_codec is VideoCodec.VP9 else None)

    async def publish(
        self, participant_id: str, source: FeedSource, sdp: str, *, scalability_mode: str | None = None
    ) -> tuple[int, str]:
        participant = self._participant(participant_id)
        if not participant.can_publish:
            raise NotAllowed("In this moderated conference only speakers may publish.")
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
            raise NotJoined("You left the conference.")
        feed = Feed(feed=feed_id, participant=participant_id, source=source, video_codec=result.video_codec)
        self.state.add_feed(feed)
        self._broadcast(FeedPublished(feed), participant_id)
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
            raise UnknownFeed(f"Feed {feed_id} is not published in this conference.")
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
        self._broadcast(ParticipantUpdated(ParticipantView.of(participant)))

    async def chat(self, participant_id: str, text: str) -> None:
        participant = self._participant(participant_id)
        if not self._chat_rate.allow(participant_id, self.clock_s()):
            # Neither shown nor stored: a flood costs the others and the database nothing.
            raise RoomRateLimited(RATE_LIMITED_MESSAGE)
        entry = ChatEntry(
            sender=participant_id,
            display_name=participant.display_name,
            text=text,
            ts=datetime.now(UTC).isoformat(timespec="milliseconds"),
        )
        self.state.chat.append(entry)
        self._broadcast(ChatSaid(entry))
        try:
            await self._chat_sink(self.conference_id, entry)
        except Exception:
            logger.exception("conference %s: storing a chat message failed", self.conference_id)

    async def raise_hand(self, participant_id: str, raised: bool) -> None:
        """A participant raises or lowers his own hand; everyone sees it (``hand_raised``)."""
        participant = self._participant(participant_id)
        if participant.hand_raised is raised:
            return
        participant.hand_raised = raised
        self._broadcast(ParticipantUpdated(ParticipantView.of(participant)))
        logger.info(
            "conference %s: %s %s a hand", self.conference_id, participant_id, "raised" if raised else "lowered"
        )

    async def moderate(self, moderator_name: str, target_id: str, action: str) -> None:
        """Mute or remove ``target_id``, make him a speaker or a listener, lower his hand; or let a removed identity
        back ("readmit", ``target_id`` is the identity).

        The caller has checked the moderator's right to do so.
        """
        if action == "readmit":
            if self.removed.pop(target_id, None) is None:
                raise UnknownParticipant("Nobody by that name was removed from this conference.")
            logger.info("conference %s: %s let %s back in", self.conference_id, moderator_name, target_id)
            return
        target = self.state.participants.get(target_id)
        if target is None:
            raise UnknownParticipant(f"Participant {target_id} is not in this conference.")
        if action == "mute":
            target.force_muted, target.audio = True, False
            camera = self.state.feed_of(target_id, FeedSource.CAMERA)
            if camera is not None:
                try:
                    await self._engine.set_feed_muted(self.conference_id, camera.feed, audio=True, video=None)
                except MediaEngineError as e:
                    raise _engine_error(e) from e
            self._send(target_id, ForceMuted(moderator_name))
            self._broadcast(ParticipantUpdated(ParticipantView.of(target)))
        elif action == "remove":
            self.removed[target.identity] = RemovedParticipant(target.identity, target.display_name, moderator_name)
            member = self._members.get(target_id)
            if member is not None:
                member.deliver(Removed(moderator_name))
                member.disconnect("removed")
            await self.leave(target_id)
        elif action == "make_speaker":
            await self._set_role(moderator_name, target, ParticipantRole.SPEAKER)
        elif action == "make_listener":
            await self._set_role(moderator_name, target, ParticipantRole.LISTENER)
        elif action == "lower_hand":
            await self.raise_hand(target_id, False)
        else:
            raise NotAllowed(f"Unknown moderation action {action!r}.")

    async def _set_role(self, moderator_name: str, target: RoomParticipant, role: ParticipantRole) -> None:
        """Let a listener speak, or make a speaker a listener (his feeds stop); his hand is lowered either way."""
        if target.role is ParticipantRole.MODERATOR:
            raise NotAllowed(f"{target.display_name} is a moderator: a moderator always may speak.")
        changed = target.role is not role
        target.role, target.hand_raised = role, False
        self.granted_roles[target.identity] = role
        if role is ParticipantRole.LISTENER:
            target.audio = target.video = False
            for feed in [f for f in self.state.feeds.values() if f.participant == target.id]:
                self.state.remove_feed(feed.feed)
                await self._drop_feed(feed)
        if changed:
            self._send(target.id, RoleChanged(role.value, target.can_publish, moderator_name))
        self._broadcast(ParticipantUpdated(ParticipantView.of(target)))
        logger.info("conference %s: %s made %s a %s", self.conference_id, moderator_name, target.id, role.value)

    def moderator_name(self, participant_id: str) -> str:
        participant = self._participant(participant_id)
        if not participant.can_moderate:
            raise NotAllowed("Only the owner and moderators may moderate this conference.")
        return participant.display_name

    # -- engine restart ---------------------------------------------------------------------------------------

    def on_engine_restart(self) -> None:
        """Everything in the engine is gone: forget feeds and subscriptions and tell clients to publish again."""
        self.state.feeds.clear()
        self._subscriptions.clear()
        self._broadcast(MediaReset())

    async def close(self) -> None:
        """The room ends (its last participant left, or the server stops): every seat goes back."""
        for seat in self._seats.values():
            seat.release()
        self._seats.clear()
        await self._quietly(self._engine.destroy_room(self.conference_id))

    # -- internals --------------------------------------------------------------------------------------------

    def _participant(self, participant_id: str) -> RoomParticipant:
        participant = self.state.participants.get(participant_id)
        if participant is None:
            raise NotJoined("You are not in this conference.")
        return participant

    def _subscription(self, participant_id: str, feed_id: int) -> int:
        self._participant(participant_id)
        sub = self._subscriptions.get((participant_id, feed_id))
        if sub is None:
            raise UnknownFeed(f"You are not subscribed to feed {feed_id}.")
        return sub

    async def _drop_feed(self, feed: Feed) -> None:
        """A feed stopped: end every subscription to it, then the publisher."""
        for (subscriber, feed_id), sub in list(self._subscriptions.items()):
            if feed_id == feed.feed:
                del self._subscriptions[(subscriber, feed_id)]
                await self._quietly(self._engine.unsubscribe(self.conference_id, sub))
        await self._quietly(self._engine.unpublish(self.conference_id, feed.feed))
        self._broadcast(FeedUnpublished(feed.feed))

    def _send(self, participant_id: str, event: RoomEvent) -> None:
        member = self._members.get(participant_id)
        if member is not None:
            member.deliver(event)

    def _broadcast(self, event: RoomEvent, except_id: str | None = None) -> None:
        for participant_id, member in list(self._members.items()):
            if participant_id != except_id:
                member.deliver(event)

    async def _quietly(self, call: Awaitable[None]) -> None:
        try:
            await call
        except MediaEngineError as e:
            logger.debug("conference %s: engine cleanup failed: %s", self.conference_id, e)

    def live_participants(self) -> list[ParticipantView]:
        return [ParticipantView.of(p) for p in self.state.participants.values()]

    def media_handles(self, participant_id: str) -> tuple[list[int], list[int]]:
        """The engine feeds a participant publishes and the engine subscriptions he receives (for the call history)."""
        feeds = [f.feed for f in self.state.feeds.values() if f.participant == participant_id]
        subscriptions = [sub for (who, _feed), sub in self._subscriptions.items() if who == participant_id]
        return feeds, subscriptions

    def subscriptions_to(self, participant_id: str) -> list[tuple[str, int]]:
        """(subscriber, engine subscription) of everyone watching a feed of this participant (for the call history)."""
        feeds = {f.feed for f in self.state.feeds.values() if f.participant == participant_id}
        return [(who, sub) for (who, feed), sub in self._subscriptions.items() if feed in feeds]
