"""Why a room refuses a participant's request. Each edge maps them to its protocol (JSON error codes, SIP status).

``code`` is the signaling protocol's error code (docs/protocol.md, "Errors"); the message is for people.
"""

from __future__ import annotations

from veche.domain.errors import DomainError
from veche.domain.license_pools import POOL_NOUNS, Pool

__all__ = [
    "ConferenceFull",
    "LicenseExhausted",
    "MediaFailed",
    "MediaUnavailable",
    "NotAllowed",
    "NotJoined",
    "ParticipantBanned",
    "RoomError",
    "RoomRateLimited",
    "StaleTicket",
    "UnknownFeed",
    "UnknownParticipant",
]


class RoomError(DomainError):
    code = "room_error"


class ConferenceFull(RoomError):
    code = "conference_full"


class NotAllowed(RoomError):
    code = "not_allowed"


class NotJoined(RoomError):
    code = "not_joined"


class UnknownFeed(RoomError):
    code = "unknown_feed"


class UnknownParticipant(RoomError):
    code = "unknown_participant"


class RoomRateLimited(RoomError):
    code = "rate_limited"


class MediaUnavailable(RoomError):
    code = "media_unavailable"


class MediaFailed(RoomError):
    code = "media_error"


class ParticipantBanned(RoomError):
    code = "removed"

    def __init__(self) -> None:
        super().__init__("A moderator removed you from this conference. A moderator can let you back in.")


class StaleTicket(RoomError):
    """The ticket names another server or an older placement of the conference: ask the web server again."""

    code = "stale_ticket"


class LicenseExhausted(RoomError):
    code = "license_exhausted"

    def __init__(self, pool: Pool, total: int | None, *, unreachable: bool = False) -> None:
        self.pool = pool
        self.total = total
        if unreachable or total is None:
            text = (
                f"This server cannot reach the license manager to admit more {POOL_NOUNS[pool]}. "
                "Try again in a moment or ask your administrator."
            )
        else:
            text = (
                f"All {total} {POOL_NOUNS[pool]} of your license are in use. Try again later or ask your administrator."
            )
        super().__init__(text)
