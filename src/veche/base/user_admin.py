"""Administrators manage accounts: list (paged, searched), edit, disable and enable, reset a password, delete.

Disabling or deleting an account ends his sign-ins here and, over the bus, his live calls on every app server at
once (``EndSessions``); app servers also find disabled and deleted accounts by themselves within seconds
(base/account_watch.py), so a call ends even when that message is lost. The HTTP edges are web/api/users.py and
the console's Users page (web/admin_users_page.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from veche.base.auth import MIN_PASSWORD
from veche.bus.base import Bus, BusError
from veche.bus.session_messages import EndSessions
from veche.domain.clock import Clock
from veche.domain.errors import Forbidden, InvalidInput, NotFound
from veche.domain.model import User
from veche.domain.names import clean_name
from veche.storage.users import SessionStore, UserPage, UserRecord, UserStore

__all__ = ["ACCOUNT_DELETED", "ACCOUNT_DISABLED", "UserAdmin", "UserChanges"]

logger = logging.getLogger(__name__)

ACCOUNT_DISABLED = "Your account was disabled: the call ended."
ACCOUNT_DELETED = "Your account was deleted: the call ended."
MAX_PASSWORD = 1024


@dataclass(frozen=True)
class UserChanges:
    """What an administrator changes in an account; None: unchanged."""

    display_name: str | None = None
    email: str | None = None
    is_admin: bool | None = None
    disabled: bool | None = None


def _not_found(user_id: int) -> NotFound:
    return NotFound(f"User {user_id} does not exist.")


def valid_email(email: str) -> str:
    email = email.strip()
    if email and ("@" not in email or len(email) > 320 or any(ch.isspace() for ch in email)):
        raise InvalidInput("The email address is not valid.")
    return email


class UserAdmin:
    def __init__(
        self,
        users: UserStore,
        sessions: SessionStore,
        bus: Bus,
        clock: Clock,
        hash_password: Callable[[str], Awaitable[str]],
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._bus = bus
        self._clock = clock
        self._hash = hash_password

    async def page(self, *, query: str = "", limit: int = 50, offset: int = 0) -> UserPage:
        return await self._users.page(query=query[:128], limit=limit, offset=offset)

    async def record(self, user_id: int) -> UserRecord:
        found = await self._users.record(user_id)
        if found is None:
            raise _not_found(user_id)
        return found

    async def update(self, actor: User, user_id: int, changes: UserChanges) -> User:
        """Apply ``changes``; an administrator may not take his own rights away nor disable himself (so the
        console always keeps someone who can open it)."""
        record = await self.record(user_id)
        if user_id == actor.id and changes.is_admin is False:
            raise Forbidden("You cannot take away your own administrator rights. Ask another administrator.")
        if user_id == actor.id and changes.disabled is True:
            raise Forbidden("You cannot disable your own account.")
        name = (
            clean_name(changes.display_name, what="The display name", max_length=128)
            if changes.display_name is not None
            else None
        )
        email = valid_email(changes.email) if changes.email is not None else None
        if record.source is not None and (
            (name is not None and name != record.user.display_name)
            or (email is not None and email != record.user.email)
        ):
            raise InvalidInput(
                f"{record.user.login}'s name and email come from the directory “{record.source}”: change them there."
            )
        updated = await self._users.update(
            user_id,
            display_name=name,
            email=email,
            is_admin=changes.is_admin,
            disabled=changes.disabled,
            now=self._clock(),
        )
        if updated is None:
            raise _not_found(user_id)
        if changes.disabled and not record.user.disabled:
            await self._end_everything(updated, "account_disabled", ACCOUNT_DISABLED)
            logger.info("%s disabled the account %s", actor.login, updated.login)
        return updated

    async def reset_password(self, actor: User, user_id: int, password: str) -> None:
        """Set a new password; his other sign-ins end (a reset is often because the old one leaked)."""
        record = await self.record(user_id)
        if record.source is not None and not record.has_password:
            raise InvalidInput(
                f"{record.user.login} signs in with the password of the directory “{record.source}”: reset it there."
            )
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise InvalidInput(f"The password must be {MIN_PASSWORD}–{MAX_PASSWORD} characters.")
        await self._users.set_password_hash(user_id, await self._hash(password))
        if user_id != actor.id:
            await self._sessions.delete_for_user(user_id)
        logger.info("%s reset the password of %s", actor.login, record.user.login)

    async def delete(self, actor: User, user_id: int) -> None:
        """Delete the account; the conferences he owned pass to ``actor``, his live calls end."""
        if user_id == actor.id:
            raise Forbidden("You cannot delete your own account.")
        record = await self.record(user_id)
        if not await self._users.delete(user_id, heir_id=actor.id):
            raise _not_found(user_id)
        await self._end_calls(record.user, "account_disabled", ACCOUNT_DELETED)
        logger.info("%s deleted the account %s", actor.login, record.user.login)

    async def _end_everything(self, user: User, code: str, message: str) -> None:
        await self._sessions.delete_for_user(user.id)
        await self._end_calls(user, code, message)

    async def _end_calls(self, user: User, code: str, message: str) -> None:
        try:
            await self._bus.publish(EndSessions(identity=f"user:{user.id}", code=code, message=message))
        except BusError as e:  # the app servers' own check (base/account_watch.py) ends them within seconds
            logger.warning("could not tell app servers to end %s's calls: %s", user.login, e)
