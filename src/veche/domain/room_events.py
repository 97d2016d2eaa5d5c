"""What a room tells its participants: typed events, the same for every kind of participant.

The WebSocket endpoint turns them into protocol messages (docs/protocol.md); a gateway would turn them into its
own protocol's (a SIP re-INVITE, an RTSP teardown); a test keeps them in a list.
"""

from __future__ import annotations

from dataclasses import dataclass

from veche.domain.room import ChatEntry, Feed, RoomParticipant

__all__ = [
    "ChatSaid",
    "FeedPublished",
    "FeedUnpublished",
    "ForceMuted",
    "MediaPlan",
    "MediaReset",
    "ParticipantJoined",
    "ParticipantLeft",
    "ParticipantUpdated",
    "ParticipantView",
    "Removed",
    "RoleChanged",
    "RoomEvent",
    "RoomSnapshot",
    "SessionEnded",
]


@dataclass(frozen=True)
class ParticipantView:
    """A participant as the others see him (a copy: later changes arrive as events)."""

    id: str
    display_name: str
    guest: bool
    role: str
    audio: bool
    video: bool
    force_muted: bool
    kind: str
    hand_raised: bool = False

    @classmethod
    def of(cls, p: RoomParticipant) -> ParticipantView:
        return cls(p.id, p.display_name, p.guest, p.role.value, p.audio, p.video, p.force_muted, p.kind, p.hand_raised)


@dataclass(frozen=True)
class MediaPlan:
    """How this participant should send video here, and why he will miss some (``fallback``)."""

    video_codec: str
    scalability_mode: str | None = None
    fallback: str | None = None


@dataclass(frozen=True)
class RoomSnapshot:
    """What a participant learns on entering: the room as it is now."""

    conference_id: int
    name: str
    type: str
    you: ParticipantView
    participants: tuple[ParticipantView, ...]
    feeds: tuple[Feed, ...]
    chat: tuple[ChatEntry, ...]
    media: MediaPlan


@dataclass(frozen=True)
class ParticipantJoined:
    participant: ParticipantView


@dataclass(frozen=True)
class ParticipantLeft:
    participant_id: str


@dataclass(frozen=True)
class ParticipantUpdated:
    participant: ParticipantView


@dataclass(frozen=True)
class FeedPublished:
    feed: Feed


@dataclass(frozen=True)
class FeedUnpublished:
    feed_id: int


@dataclass(frozen=True)
class ChatSaid:
    entry: ChatEntry


@dataclass(frozen=True)
class ForceMuted:
    """To the muted participant only."""

    by: str


@dataclass(frozen=True)
class RoleChanged:
    """To one participant: a moderator made him a speaker (publish now) or a listener (stop publishing)."""

    role: str  # "speaker" | "listener"
    can_publish: bool
    by: str  # display name of the moderator


@dataclass(frozen=True)
class MediaReset:
    """The media engine restarted: publish again; remote feeds follow as :class:`FeedPublished`."""


@dataclass(frozen=True)
class Removed:
    """To the removed participant only: a moderator removed him (he may not come back unless let back)."""

    by: str


@dataclass(frozen=True)
class SessionEnded:
    """To one participant: his session is over for a reason that is not a moderator's (``code`` says which)."""

    code: str  # "replaced" | "signed_out" | "account_disabled" | "license_grace_over" | "server_shutdown"
    message: str


RoomEvent = (
    ParticipantJoined
    | ParticipantLeft
    | ParticipantUpdated
    | FeedPublished
    | FeedUnpublished
    | ChatSaid
    | ForceMuted
    | MediaReset
    | Removed
    | RoleChanged
    | SessionEnded
)
