"""Notifications of the signed-in user: his in-app notices, his preferences per kind, his browsers' Web Push
subscriptions and his devices' push tokens (docs/notifications.md). Everything here is the caller's own: another
user's subscription or device is "not found", as one that does not exist."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, get_args
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from veche.domain.clock import utc_now
from veche.domain.errors import InvalidInput, NotFound
from veche.domain.model import User
from veche.domain.notifications import NoticeKind
from veche.storage.notifications import KindPreference, StoredNotice, WebPushTarget
from veche.web.api.params import MAX_ID
from veche.web.security import current_user

router = APIRouter(tags=["notifications"])

KINDS: tuple[str, ...] = get_args(NoticeKind)
ItemId = Annotated[int, Path(ge=1, le=MAX_ID)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# -- notices ---------------------------------------------------------------------------------------------------


class NoticeOut(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    url: str
    created_at: str
    read: bool

    @classmethod
    def of(cls, n: StoredNotice) -> NoticeOut:
        return cls(
            id=n.id,
            kind=n.kind,
            title=n.title,
            body=n.body,
            url=n.url,
            created_at=n.created_at.isoformat(),
            read=n.read,
        )


class NoticePageOut(BaseModel):
    items: list[NoticeOut]
    unread: int = Field(description="How many of his notices are unread (all of them, not only this page's)")
    next_before: int | None = Field(description="Pass as `before` for the next, older page; null: no more")


class ReadIn(_In):
    up_to: int = Field(ge=1, le=MAX_ID, description="Mark the notices with this id and lower read")


class UnreadOut(BaseModel):
    unread: int


def _notices(request: Request) -> Any:
    return request.app.state.container.get_notifier().store


@router.get(
    "/notifications", response_model=NoticePageOut, summary="My notices, newest first, paged; and my unread count"
)
async def list_notices(
    request: Request,
    user: User = Depends(current_user),
    limit: int = Query(50, ge=1, le=200),
    before: int | None = Query(None, ge=1, le=MAX_ID, description="Only notices with a lower id (the next page)"),
) -> NoticePageOut:
    page = await _notices(request).page(user.id, limit=limit, before=before)
    return NoticePageOut(items=[NoticeOut.of(n) for n in page.items], unread=page.unread, next_before=page.next_before)


@router.post("/notifications/read", response_model=UnreadOut, summary="Mark my notices read, up to an id")
async def mark_read(body: ReadIn, request: Request, user: User = Depends(current_user)) -> UnreadOut:
    return UnreadOut(unread=await _notices(request).mark_read(user.id, body.up_to))


# -- preferences -----------------------------------------------------------------------------------------------


class KindPreferenceModel(_In):
    email: bool = True
    push: bool = True


class PreferencesModel(_In):
    kinds: dict[str, KindPreferenceModel] = Field(
        description=f"Per kind of notice ({', '.join(KINDS)}): by e-mail, by push. Absent kinds are left as they are."
    )

    @field_validator("kinds")
    @classmethod
    def _known(cls, kinds: dict[str, KindPreferenceModel]) -> dict[str, KindPreferenceModel]:
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown kind(s) {', '.join(unknown)}; the kinds are {', '.join(KINDS)}")
        return kinds


async def _preferences_of(request: Request, user_id: int) -> PreferencesModel:
    stored = await _notices(request).preferences(user_id)
    return PreferencesModel(
        kinds={
            kind: KindPreferenceModel(email=pref.email, push=pref.push)
            for kind, pref in ((k, stored.get(k) or KindPreference.default(k)) for k in KINDS)
        }
    )


@router.get(
    "/me/notification-preferences",
    response_model=PreferencesModel,
    summary="How I am told of each kind of notice (every kind; default: e-mail and push)",
)
async def get_preferences(request: Request, user: User = Depends(current_user)) -> PreferencesModel:
    return await _preferences_of(request, user.id)


@router.put(
    "/me/notification-preferences", response_model=PreferencesModel, summary="Change how I am told of kinds of notice"
)
async def put_preferences(
    body: PreferencesModel, request: Request, user: User = Depends(current_user)
) -> PreferencesModel:
    await _notices(request).set_preferences(
        user.id, {kind: KindPreference(p.email, p.push) for kind, p in body.kinds.items()}
    )
    return await _preferences_of(request, user.id)


# -- Web Push --------------------------------------------------------------------------------------------------


class PushKeyOut(BaseModel):
    public_key: str = Field(description="The VAPID public key: the browser's applicationServerKey (base64url)")


def _b64url(value: str, length: int, what: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"{what} is not base64url") from e
    if len(raw) != length:
        raise ValueError(f"{what} must be {length} bytes, not {len(raw)}")
    return value


class SubscriptionKeys(BaseModel):
    model_config = ConfigDict(extra="forbid")
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)

    @field_validator("p256dh")
    @classmethod
    def _point(cls, value: str) -> str:
        _b64url(value, 65, "keys.p256dh")
        if base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))[0] != 4:
            raise ValueError("keys.p256dh must be an uncompressed P-256 point")
        return value

    @field_validator("auth")
    @classmethod
    def _auth(cls, value: str) -> str:
        return _b64url(value, 16, "keys.auth")


class SubscriptionIn(BaseModel):
    """The browser's PushSubscription, as its toJSON() gives it."""

    model_config = ConfigDict(extra="forbid")
    endpoint: str = Field(min_length=8, max_length=2000)
    expirationTime: float | None = None  # noqa: N815 - the browser's name
    keys: SubscriptionKeys


class CreatedOut(BaseModel):
    id: int


@router.get("/push/key", response_model=PushKeyOut, summary="The Web Push (VAPID) public key browsers subscribe with")
async def push_key(request: Request, _user: User = Depends(current_user)) -> PushKeyOut:
    return PushKeyOut(public_key=request.app.state.container.get_vapid_keys().public_key)


@router.post(
    "/push/subscriptions",
    response_model=CreatedOut,
    status_code=201,
    summary="Register this browser's Web Push subscription for me (again: the same id)",
)
async def subscribe(body: SubscriptionIn, request: Request, user: User = Depends(current_user)) -> CreatedOut:
    container = request.app.state.container
    url = urlsplit(body.endpoint)
    allowed = ("https", "http") if container.settings.push.allow_http_endpoints else ("https",)
    if url.scheme not in allowed or not url.hostname:
        raise InvalidInput(f"endpoint must be an {' or '.join(allowed)} URL of a push service")
    target = WebPushTarget(body.endpoint, body.keys.p256dh, body.keys.auth)
    return CreatedOut(id=await container.get_push_targets().subscribe(user.id, target, utc_now()))


@router.delete("/push/subscriptions/{subscription_id}", status_code=204, summary="Remove one of my subscriptions")
async def unsubscribe(subscription_id: ItemId, request: Request, user: User = Depends(current_user)) -> None:
    if not await request.app.state.container.get_push_targets().unsubscribe(user.id, subscription_id):
        raise NotFound("No such subscription.")


# -- mobile devices --------------------------------------------------------------------------------------------


class DeviceIn(_In):
    provider: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    token: str = Field(min_length=1, max_length=1000)


@router.post(
    "/push/devices",
    response_model=CreatedOut,
    status_code=201,
    summary="Register a mobile device's push token (at a configured provider) for me",
)
async def add_device(body: DeviceIn, request: Request, user: User = Depends(current_user)) -> CreatedOut:
    container = request.app.state.container
    providers = container.get_push_providers()
    if body.provider not in providers:
        known = ", ".join(sorted(providers)) or "none is configured"
        raise InvalidInput(f"unknown push provider {body.provider!r} ({known})")
    return CreatedOut(id=await container.get_push_targets().add_device(user.id, body.provider, body.token, utc_now()))


@router.delete("/push/devices/{device_id}", status_code=204, summary="Remove one of my devices")
async def remove_device(device_id: ItemId, request: Request, user: User = Depends(current_user)) -> None:
    if not await request.app.state.container.get_push_targets().remove_device(user.id, device_id):
        raise NotFound("No such device.")
