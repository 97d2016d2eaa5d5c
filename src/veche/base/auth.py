"""Local authentication: argon2 password hashes, login sessions and API tokens, login throttling."""

from __future__ import annotations

import abc
import asyncio
import hashlib
import logging
import os
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from veche.base.shared_throttle import SharedThrottle, ThrottleCounters
from veche.domain.clock import Clock
from veche.domain.errors import AuthenticationFailed, InvalidInput, RateLimited
from veche.domain.login_throttle import LoginThrottle, Outcome, Refusal, RefusalReason
from veche.domain.model import User
from veche.domain.names import clean_name
from veche.storage.users import SessionStore, UserStore

__all__ = ["AuthService", "DirectoryAuthenticator", "LoginResult", "token_hash", "validate_new_user"]

logger = logging.getLogger(__name__)

LOGIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
MIN_PASSWORD = 8
# Verifying against a dummy hash when the login is unknown keeps the timing of both failures alike.
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("veche-dummy-password")


def _hash_workers() -> int:
    """argon2 takes tens of ms of CPU and 64 MiB per hash: leave one core to the event loop, and use at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 2
    return max(1, min(4, cores - 1))


# Hashing never runs on the event loop: a small dedicated pool bounds the CPU and memory it may take.
_hash_pool = ThreadPoolExecutor(max_workers=_hash_workers(), thread_name_prefix="veche-argon2")


async def _verify_password(stored: str, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(_hash_pool, _verify_blocking, stored, password)


def _verify_blocking(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _hash_blocking(password: str) -> str:
    return _hasher.hash(password)


_REFUSALS = {
    RefusalReason.ACCOUNT_FROM_ADDRESS: "Too many failed logins for this account from your address.",
    RefusalReason.ADDRESS: "Too many failed logins from your address.",
    RefusalReason.ACCOUNT_UNDER_ATTACK: "Too many failed logins for this account from many addresses, yours too.",
    RefusalReason.IN_FLIGHT: "Too many login attempts at once from your address.",
}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_new_user(login: str, display_name: str, email: str, password: str) -> None:
    if not LOGIN_RE.match(login):
        raise InvalidInput(
            "The login must be 2–64 characters: letters, digits, '.', '_', '-', '@', starting with a letter or digit."
        )
    clean_name(display_name, what="The display name", max_length=128)
    if email and ("@" not in email or len(email) > 320):
        raise InvalidInput("The email address is not valid.")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"The password must be at least {MIN_PASSWORD} characters.")


class DirectoryAuthenticator(abc.ABC):
    """Checks passwords of users who have none stored here (LDAP / Active Directory users)."""

    @abc.abstractmethod
    async def authenticate(self, login: str, password: str, known: User | None) -> User | None:
        """The user if his directory accepts the password; None if it does not know him or refuses the password.

        ``known`` is the local user with this login, if any. Raises AuthenticationFailed for disabled accounts.
        """


@dataclass(frozen=True)
class LoginResult:
    user: User
    token: str


class AuthService:
    def __init__(
        self,
        users: UserStore,
        sessions: SessionStore,
        clock: Clock,
        *,
        session_ttl: timedelta,
        throttle: LoginThrottle,
        directory: DirectoryAuthenticator | None = None,
        shared_throttle: ThrottleCounters | None = None,  # several web servers: count failures together
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._clock = clock
        self._ttl = session_ttl
        self._throttle = SharedThrottle(throttle, shared_throttle, clock)
        self._directory = directory

    @staticmethod
    async def hash_password(password: str) -> str:
        """The argon2id hash, computed in the hashing pool (never on the event loop)."""
        return await asyncio.get_running_loop().run_in_executor(_hash_pool, _hash_blocking, password)

    async def create_user(self, *, login: str, display_name: str, email: str, password: str, is_admin: bool) -> User:
        validate_new_user(login, display_name, email, password)
        return await self._users.create(
            login=login.lower(),  # logins are case-insensitive, as in directories
            display_name=display_name.strip(),
            email=email,
            password_hash=await self.hash_password(password),
            is_admin=is_admin,
            now=self._clock(),
        )

    async def login(self, login: str, password: str, *, client: str, kind: str) -> LoginResult:
        """Check the password and open a session; throttled per login and address (see domain/login_throttle)."""
        reserved = await self._throttle.begin(login.lower(), client)  # counted by every web server
        if isinstance(reserved, Refusal):
            wait = reserved.retry_after_whole_s
            logger.info("throttled login for %r from %s (%s)", login, client, reserved.reason.value)
            raise RateLimited(f"{_REFUSALS[reserved.reason]} Try again in {wait} s.", wait)
        # The reserved attempt counts as a failure unless shown to be something else: a request cancelled while
        # its hash runs (the client hung up) must not free its place for another guess.
        outcome: Outcome = "failed"
        try:
            try:
                user, stored = await self._check_password(login, password)
            except Exception:
                outcome = "released"  # a store or directory error: no guess was checked
                raise
            if user is None:
                logger.info("failed login for %r from %s", login, client)
                raise AuthenticationFailed("Wrong login or password.")
            if user.disabled:
                outcome = "released"
                raise AuthenticationFailed("This account is disabled.")
            outcome = "succeeded"
        finally:
            await self._throttle.settle(reserved, outcome)
        if stored is not None and _hasher.check_needs_rehash(stored):
            await self._users.set_password_hash(user.id, await self.hash_password(password))
        now = self._clock()
        token = secrets.token_urlsafe(32)
        await self._sessions.create(
            token_hash=token_hash(token), user_id=user.id, kind=kind, now=now, expires_at=now + self._ttl
        )
        return LoginResult(user=user, token=token)

    async def _check_password(self, login: str, password: str) -> tuple[User | None, str | None]:
        """(the user if the password is right, else None; his stored hash)."""
        found = await self._users.by_login(login)
        user, stored = found if found else (None, None)
        if self._directory is not None and stored is None:
            # No local password: a directory user (or an unknown login the directory may know).
            return await self._directory.authenticate(login, password, user), None
        verified = await _verify_password(stored or _DUMMY_HASH, password)
        return (user, stored) if verified and user is not None and stored is not None else (None, None)

    async def authenticate(self, token: str) -> User | None:
        """The user a session token or API token belongs to, if it is valid and the user is enabled."""
        if not token:
            return None
        user = await self._sessions.user_for(token_hash(token), self._clock())
        return user if user and not user.disabled else None

    async def logout(self, token: str) -> None:
        await self._sessions.delete(token_hash(token))
