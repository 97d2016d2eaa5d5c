"""Value objects of the base role: users and conferences as the rest of the code sees them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["ConferenceAccess", "ConferenceType", "Conference", "User", "VideoCodec"]


class ConferenceType(enum.StrEnum):
    ALL_SEE_ALL = "all_see_all"  # everyone publishes
    MODERATED = "moderated"  # only speakers (owner, moderators) publish


class VideoCodec(enum.StrEnum):
    """How a conference's cameras are sent: VP8 in three simulcast streams, or VP9 with SVC layers."""

    VP8 = "vp8"  # simulcast: three independent encodings (every browser and gateway decodes VP8)
    VP9 = "vp9"  # SVC (L3T3_KEY): one encoding with 3 spatial x 3 temporal layers

    @property
    def accepted(self) -> tuple[str, ...]:
        """The video codecs a room of this conference takes from publishers, in order of preference: a VP9
        conference also takes VP8 from clients that cannot send VP9 (docs/protocol.md, "Video codecs")."""
        return ("vp8",) if self is VideoCodec.VP8 else ("vp9", "vp8")


class ConferenceAccess(enum.StrEnum):
    OPEN = "open"  # every user of the organisation may join
    INVITED = "invited"  # only invited users (and the owner, moderators)


@dataclass(frozen=True)
class User:
    id: int
    login: str
    display_name: str
    email: str
    is_admin: bool
    disabled: bool = False


@dataclass(frozen=True)
class Conference:
    id: int
    name: str
    owner_id: int
    type: ConferenceType
    max_participants: int
    guests_allowed: bool
    access: ConferenceAccess
    invite_code: str
    created_at: datetime
    slug: str = ""  # the page address /c/<slug> (random: not guessable like the id)
    call_pair: str | None = None  # an ad hoc call between two users: "<lower id>:<higher id>"
    invited: frozenset[int] = field(default_factory=frozenset)
    moderators: frozenset[int] = field(default_factory=frozenset)
    video_codec: VideoCodec | None = None  # None: the cluster's default (shared settings)
    number: str = ""  # what a phone dials: sip:<number>@<domain> (docs/sip.md)
