"""A user's own profile on his account page: display name (unless a directory keeps it), time zone, language, and
a small picture (avatar)."""

from __future__ import annotations

from veche.base.user_admin import UserAdmin, UserChanges
from veche.domain.errors import InvalidInput, NotFound
from veche.domain.meetings import check_time_zone
from veche.domain.model import User
from veche.storage.meetings import MeetingStore, Profile

__all__ = ["AVATAR_MAX_BYTES", "DEFAULT_PROFILE", "ProfileService", "picture_type"]

DEFAULT_PROFILE = Profile(time_zone="UTC", language="en")
AVATAR_MAX_BYTES = 256 * 1024


def picture_type(data: bytes) -> str | None:
    """The content type of a PNG, JPEG or WebP picture, by its first bytes (not by what the upload claims)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


class ProfileService:
    def __init__(self, users: UserAdmin, store: MeetingStore) -> None:
        self._users = users
        self._store = store

    async def get(self, user: User) -> Profile:
        return await self.find(user) or DEFAULT_PROFILE

    async def find(self, user: User) -> Profile | None:
        """His profile, None while he never saved one (pages then use the browser's time zone)."""
        return await self._store.profile(user.id)

    async def save(self, user: User, display_name: str, profile: Profile) -> tuple[User, Profile]:
        """Change his own name (refused, saying why, when a directory keeps it) and preferences."""
        profile = Profile(time_zone=check_time_zone(profile.time_zone), language=profile.language)
        updated = user
        if display_name != user.display_name:
            updated = await self._users.update(user, user.id, UserChanges(display_name=display_name))
        await self._store.set_profile(user.id, profile)
        return updated, profile

    async def set_avatar(self, user: User, data: bytes) -> str:
        """Store his picture; its content type, or :class:`InvalidInput` saying what is wrong with it."""
        if len(data) > AVATAR_MAX_BYTES:
            raise InvalidInput(f"The picture is larger than {AVATAR_MAX_BYTES // 1024} KB: make it smaller.")
        kind = picture_type(data)
        if kind is None:
            raise InvalidInput("The picture must be a PNG, JPEG or WebP image.")
        await self._store.set_avatar(user.id, (data, kind), DEFAULT_PROFILE)
        return kind

    async def remove_avatar(self, user: User) -> None:
        await self._store.set_avatar(user.id, None, DEFAULT_PROFILE)

    async def avatar(self, user_id: int) -> tuple[bytes, str]:
        """Anyone signed in may see a user's picture (as his name in the address book)."""
        found = await self._store.avatar(user_id)
        if found is None:
            raise NotFound(f"User {user_id} has no picture.")
        return found
