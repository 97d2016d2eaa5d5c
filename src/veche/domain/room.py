"""The state of one running conference on an app server: participants, published feeds, recent chat.

Pure: the app role's :class:`~veche.app.conference_room.ConferenceRoom` applies these rules and does the I/O.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

from veche.domain.admission import ParticipantRole

__all__ = ["ChatEntry", "Feed", "FeedSource", "ParticipantKind", "RoomFull", "RoomParticipant", "RoomState"]

CHAT_HISTORY = 200


class FeedSource(enum.StrEnum):
    CAMERA = "camera"
    SCREEN = "screen"


class ParticipantKind(enum.StrEnum):
    """What is on the other end of a participant: each kind attaches through the same room interface."""

    BROWSER = "browser"
    GATEWAY = "gateway"  # a SIP (later H.323) endpoint
    STREAM = "stream"  # an RTSP camera or another stream source
    RECORDER = "recorder"  # a broadcaster or recorder
    REMOTE_LEG = "remote_leg"  # another app server's leg of the conference (cascading)


class RoomFull(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The conference is full ({limit} participants).")


@dataclass
class RoomParticipant:
    id: str
    identity: str
    display_name: str
    role: ParticipantRole
    guest: bool
    audio: bool = True
    video: bool = True
    force_muted: bool = False
    hand_raised: bool = False  # asks to speak (any participant; a listener's way to ask to be made a speaker)
    video_codecs: frozenset[str] = frozenset({"vp8", "vp9"})  # what this client can decode
    kind: ParticipantKind = ParticipantKind.BROWSER
    session: str = ""  # the join ticket's session: a reconnect with the same one replaces this participant
    sign_in: str = ""  # the ticket's sign-in digest: signing out there ends this participant's connection

    @property
    def can_publish(self) -> bool:
        return self.role is not ParticipantRole.LISTENER

    @property
    def can_moderate(self) -> bool:
        return self.role is ParticipantRole.MODERATOR


@dataclass(frozen=True)
class Feed:
    feed: int
    participant: str
    source: FeedSource
    video_codec: str | None = None  # as negotiated with the engine ("vp8", "vp9"); None: no video


@dataclass(frozen=True)
class ChatEntry:
    sender: str
    display_name: str
    text: str
    ts: str  # ISO-8601 UTC


@dataclass
class RoomState:
    max_participants: int
    participants: dict[str, RoomParticipant] = field(default_factory=dict)
    feeds: dict[int, Feed] = field(default_factory=dict)
    chat: deque[ChatEntry] = field(default_factory=lambda: deque(maxlen=CHAT_HISTORY))

    def add(self, participant: RoomParticipant) -> None:
        if len(self.participants) >= self.max_participants:
            raise RoomFull(self.max_participants)
        self.participants[participant.id] = participant

    def remove(self, participant_id: str) -> list[Feed]:
        """Drop a participant; returns the feeds that went with him."""
        self.participants.pop(participant_id, None)
        gone = [f for f in self.feeds.values() if f.participant == participant_id]
        for f in gone:
            del self.feeds[f.feed]
        return gone

    def feed_of(self, participant_id: str, source: FeedSource) -> Feed | None:
        for f in self.feeds.values():
            if f.participant == participant_id and f.source is source:
                return f
        return None

    def add_feed(self, feed: Feed) -> None:
        self.feeds[feed.feed] = feed

    def remove_feed(self, feed_id: int) -> Feed | None:
        return self.feeds.pop(feed_id, None)

    @property
    def empty(self) -> bool:
        return not self.participants
