"""Request and response bodies of the REST API (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from veche.domain.model import Conference, User
from veche.web.api.params import Id  # user ids within what the database holds

__all__ = [
    "ConferenceIn",
    "ConferenceOut",
    "ConferencePatch",
    "GuestJoinIn",
    "JoinIn",
    "JoinOut",
    "LoginIn",
    "PasswordIn",
    "TokenOut",
    "UserIn",
    "UserOut",
    "UserPatch",
]


class _In(BaseModel):
    # Strict: a JSON string is not a bool or an int ("is_admin": "yes" is refused, not read as true).
    model_config = ConfigDict(extra="forbid", strict=True)


class LoginIn(_In):
    login: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    id: int
    login: str
    display_name: str
    email: str
    is_admin: bool
    disabled: bool

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            login=user.login,
            display_name=user.display_name,
            email=user.email,
            is_admin=user.is_admin,
            disabled=user.disabled,
        )


class TokenOut(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    user: UserOut


class UserIn(_In):
    login: str = Field(min_length=2, max_length=64)
    display_name: str = Field(min_length=1, max_length=128)
    email: str = Field(default="", max_length=320)
    password: str = Field(min_length=8, max_length=1024)
    is_admin: bool = False


class UserPatch(_In):
    """What an administrator changes in an account; a field left out stays as it is."""

    display_name: str | None = Field(default=None, min_length=1, max_length=128)
    email: str | None = Field(default=None, max_length=320)
    is_admin: bool | None = None
    disabled: bool | None = Field(
        default=None, description="true: he can no longer sign in; his sign-ins and live calls end at once"
    )


class PasswordIn(_In):
    password: str = Field(min_length=8, max_length=1024)


class ConferenceIn(_In):
    name: str = Field(min_length=1, max_length=256)
    type: Literal["all_see_all", "moderated"] = "all_see_all"
    max_participants: int = Field(default=50, ge=2, le=1000)
    guests_allowed: bool = False
    access: Literal["open", "invited"] = "open"
    invited: list[Id] = Field(default_factory=list, max_length=10_000)
    moderators: list[Id] = Field(default_factory=list, max_length=1000)
    owner_id: Id | None = None
    video_codec: Literal["vp8", "vp9"] | None = Field(
        default=None,
        description="vp8: VP8 simulcast (every client); vp9: VP9 SVC (L3T3_KEY). Omitted: the cluster's default.",
    )


class ConferencePatch(_In):
    """What an administrator changes in a conference; a field left out stays as it is. ``invited`` and
    ``moderators`` replace the lists. Running calls keep their settings until they end; new joins get these."""

    name: str | None = Field(default=None, min_length=1, max_length=256)
    type: Literal["all_see_all", "moderated"] | None = None
    max_participants: int | None = Field(default=None, ge=2, le=1000)
    guests_allowed: bool | None = None
    access: Literal["open", "invited"] | None = None
    invited: list[Id] | None = Field(default=None, max_length=10_000)
    moderators: list[Id] | None = Field(default=None, max_length=1000)


class ConferenceOut(BaseModel):
    id: int
    name: str
    owner_id: int
    type: str
    max_participants: int
    guests_allowed: bool
    access: str
    invited: list[int]
    moderators: list[int]
    invite_code: str
    invite_url: str
    url: str = Field(description="The conference page for signed-in users (/c/<random slug>)")
    number: str = Field(description="What a phone dials: sip:<number>@<Veche's domain> (digits)")
    created_at: datetime
    video_codec: str | None = Field(description="vp8, vp9, or null for the cluster's default")

    @classmethod
    def of(cls, conference: Conference, base_url: str) -> ConferenceOut:
        return cls(
            id=conference.id,
            name=conference.name,
            owner_id=conference.owner_id,
            type=conference.type.value,
            max_participants=conference.max_participants,
            guests_allowed=conference.guests_allowed,
            access=conference.access.value,
            invited=sorted(conference.invited),
            moderators=sorted(conference.moderators),
            invite_code=conference.invite_code,
            invite_url=f"{base_url}/join/{conference.invite_code}",
            url=f"{base_url}/c/{conference.slug}",
            number=conference.number,
            created_at=conference.created_at,
            video_codec=conference.video_codec.value if conference.video_codec is not None else None,
        )


class JoinIn(_In):
    # Set when reconnecting because the app server at this id stopped answering: the conference may move.
    failed_server: str | None = Field(default=None, max_length=64)
    # The participant's region (e.g. from the office network): placement prefers app servers there.
    region: str | None = Field(default=None, min_length=1, max_length=64)
    # The `session` of an earlier answer, when reconnecting: the new connection replaces the old one.
    session: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")


class GuestJoinIn(JoinIn):
    display_name: str = Field(min_length=1, max_length=64)
    pin: str | None = Field(default=None, max_length=12, description="A scheduled meeting's PIN, if it has one")


class JoinOut(BaseModel):
    conference: dict[str, Any]
    signaling_url: str
    server_id: str
    ticket: str  # valid for two minutes, for one participant session on that server
    session: str  # send it back (JoinIn.session) when asking again after a disconnection
    ice_servers: list[dict[str, Any]]
    client: dict[str, int]  # client defaults from the shared settings: video_max_height, video_max_bitrate_bps
