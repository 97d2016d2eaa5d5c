"""The caller's own account: his profile (display name, time zone, language, picture) and his private calendar feed
address (docs/meetings.md, "Personal account"). Notification preferences are web/api/notifications.py."""

from __future__ import annotations

from typing import Annotated, Literal, cast, get_args

from fastapi import APIRouter, Depends, File, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from veche.base.profiles import AVATAR_MAX_BYTES
from veche.domain.model import User
from veche.storage.meetings import Profile
from veche.web.api.params import UserId
from veche.web.security import current_user

__all__ = ["ProfileIO", "router"]

router = APIRouter(tags=["account"])

Language = Literal["en", "de", "fr", "ru", "es"]
LANGUAGES = set(get_args(Language))


class FeedOut(BaseModel):
    url: str | None = Field(description="The private feed URL (only when just made: it is not stored)")
    exists: bool


@router.get("/me/calendar-feed", response_model=FeedOut, summary="Whether I have a private calendar feed")
async def feed_state(request: Request, user: User = Depends(current_user)) -> FeedOut:
    exists = await request.app.state.container.get_meetings().has_feed(user)
    return FeedOut(url=None, exists=exists)


@router.post(
    "/me/calendar-feed", response_model=FeedOut, summary="Make a new private feed URL (the old one stops working)"
)
async def reset_feed(request: Request, user: User = Depends(current_user)) -> FeedOut:
    container = request.app.state.container
    token = await container.get_meetings().reset_feed_token(user)
    return FeedOut(url=f"{container.public_base_url()}/meetings/feed/{token}.ics", exists=True)


class ProfileIO(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    display_name: str = Field(min_length=1, max_length=128)
    time_zone: str = Field(min_length=1, max_length=64)
    language: Language = "en"


def _profile_out(user: User, profile: Profile) -> ProfileIO:
    language = cast(Language, profile.language if profile.language in LANGUAGES else "en")
    return ProfileIO(display_name=user.display_name, time_zone=profile.time_zone, language=language)


@router.get("/me/profile", response_model=ProfileIO, summary="My profile")
async def get_profile(request: Request, user: User = Depends(current_user)) -> ProfileIO:
    return _profile_out(user, await request.app.state.container.get_profiles().get(user))


@router.put(
    "/me/profile",
    response_model=ProfileIO,
    summary="Change my display name, time zone and language",
    responses={400: {"description": "An unknown time zone, or a name a directory keeps"}},
)
async def put_profile(body: ProfileIO, request: Request, user: User = Depends(current_user)) -> ProfileIO:
    wanted = Profile(time_zone=body.time_zone, language=body.language)
    updated, profile = await request.app.state.container.get_profiles().save(user, body.display_name, wanted)
    return _profile_out(updated, profile)


PICTURE_TYPES: dict[str, dict[str, object]] = {"image/png": {}, "image/jpeg": {}, "image/webp": {}}


class AvatarOut(BaseModel):
    url: str
    content_type: str


@router.put(
    "/me/avatar",
    response_model=AvatarOut,
    summary="Set my picture (PNG, JPEG or WebP, at most 256 KB)",
    responses={400: {"description": "Not a PNG, JPEG or WebP picture, or too large"}},
)
async def put_avatar(
    request: Request, file: Annotated[UploadFile, File(description="The picture")], user: User = Depends(current_user)
) -> AvatarOut:
    data = await file.read(AVATAR_MAX_BYTES + 1)
    kind = await request.app.state.container.get_profiles().set_avatar(user, data)
    return AvatarOut(url=f"/api/v1/avatars/{user.id}", content_type=kind)


@router.delete("/me/avatar", status_code=204, summary="Remove my picture")
async def delete_avatar(request: Request, user: User = Depends(current_user)) -> None:
    await request.app.state.container.get_profiles().remove_avatar(user)


@router.get(
    "/avatars/{user_id}",
    response_class=Response,
    summary="A user's picture (for whoever may see him in the address book; 404 when he has none)",
    responses={200: {"content": PICTURE_TYPES, "description": "The picture"}},
)
async def get_avatar(user_id: UserId, request: Request, user: User = Depends(current_user)) -> Response:
    container = request.app.state.container
    if user_id != user.id:
        await container.get_address_book().contact(user, user_id)  # 404 for someone he may not see, as for nobody
    data, kind = await container.get_profiles().avatar(user_id)
    return Response(data, media_type=kind, headers={"Cache-Control": "private, max-age=300"})
