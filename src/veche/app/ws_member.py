"""A browser participant: room events become signaling protocol messages on its WebSocket (docs/protocol.md)."""

from __future__ import annotations

from typing import Any

from veche.app.connection import ClientConnection
from veche.app.room_member import RoomMember
from veche.app.signal_messages import PROTOCOL_VERSION
from veche.domain.room import ChatEntry, Feed
from veche.domain.room_events import (
    ChatSaid,
    FeedPublished,
    FeedUnpublished,
    ForceMuted,
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

__all__ = ["CLOSE_ASK_AGAIN", "CLOSE_CODES", "WebSocketMember", "joined_message"]

# Close codes (docs/protocol.md, "Close codes"). 4010 is the one 4xxx code after which a client reconnects:
# it asks the web server for a new ticket first.
CLOSE_ASK_AGAIN = 4010
CLOSE_CODES: dict[str, tuple[int, str]] = {
    "removed": (4001, "removed by a moderator"),
    "replaced": (4002, "replaced by a newer connection of the same participant"),
    "signed_out": (4003, "signed out"),
    "account_disabled": (4003, "account disabled"),
    "license_grace_over": (4004, "the server lost its license lease"),
    "stale_ticket": (CLOSE_ASK_AGAIN, "ask for a new ticket"),
    "ticket_expired": (CLOSE_ASK_AGAIN, "ask for a new ticket"),
}


def participant_json(p: ParticipantView) -> dict[str, Any]:
    return {
        "id": p.id,
        "display_name": p.display_name,
        "guest": p.guest,
        "role": p.role,
        "audio": p.audio,
        "video": p.video,
        "force_muted": p.force_muted,
        "hand_raised": p.hand_raised,
        "kind": p.kind,
    }


def feed_json(f: Feed) -> dict[str, Any]:
    return {"feed": f.feed, "participant": f.participant, "source": f.source.value, "video_codec": f.video_codec}


def chat_json(c: ChatEntry) -> dict[str, Any]:
    return {"from": c.sender, "display_name": c.display_name, "text": c.text, "ts": c.ts}


def joined_message(snapshot: RoomSnapshot, request_id: int | None) -> dict[str, Any]:
    return {
        **({"id": request_id} if request_id is not None else {}),
        "type": "joined",
        "v": PROTOCOL_VERSION,
        "participant": snapshot.you.id,
        "conference": {"id": snapshot.conference_id, "name": snapshot.name, "type": snapshot.type},
        "role": snapshot.you.role,
        "can_publish": snapshot.you.role != "listener",
        "participants": [participant_json(p) for p in snapshot.participants],
        "feeds": [feed_json(f) for f in snapshot.feeds],
        "chat": [chat_json(c) for c in snapshot.chat],
        "media": {
            "video_codec": snapshot.media.video_codec,
            "scalability_mode": snapshot.media.scalability_mode,
            "fallback": snapshot.media.fallback,
        },
    }


def event_message(event: RoomEvent) -> dict[str, Any]:
    match event:
        case ParticipantJoined(participant=p):
            return {"type": "participant_joined", "participant": participant_json(p)}
        case ParticipantUpdated(participant=p):
            return {"type": "participant_updated", "participant": participant_json(p)}
        case ParticipantLeft(participant_id=pid):
            return {"type": "participant_left", "participant": pid}
        case FeedPublished(feed=f):
            return {"type": "feed_added", "feed": feed_json(f)}
        case FeedUnpublished(feed_id=fid):
            return {"type": "feed_removed", "feed": fid}
        case ChatSaid(entry=c):
            return {"type": "chat", "message": chat_json(c)}
        case ForceMuted(by=by):
            return {"type": "force_muted", "by": by}
        case MediaReset():
            return {"type": "media_reset"}
        case Removed(by=by):
            return {"type": "removed", "by": by}
        case RoleChanged(role=role, can_publish=can_publish, by=by):
            return {"type": "role_changed", "role": role, "can_publish": can_publish, "by": by}
        case SessionEnded(code=code, message=text):
            return {"type": "session_ended", "code": code, "message": text}
    raise AssertionError(f"unmapped room event {event!r}")


class WebSocketMember(RoomMember):
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    def deliver(self, event: RoomEvent) -> None:
        self.connection.send(event_message(event))

    def disconnect(self, code: str) -> None:
        close, reason = CLOSE_CODES.get(code, (1000, code))
        self.connection.close_soon(close, reason)
