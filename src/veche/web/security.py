"""Who is calling: bearer tokens for the API, HttpOnly session cookies for pages, CSRF for cookie callers."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from fastapi import Depends, Request

from veche.domain.errors import AuthenticationFailed, Forbidden
from veche.domain.model import User

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Caller",
    "csrf_token_for",
    "current_caller",
    "current_user",
    "require_admin",
    "secure_request",
]

SESSION_COOKIE = "veche_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Caller:
    user: User
    token: str
    via_cookie: bool


def csrf_token_for(session_token: str, key: bytes) -> str:
    """The CSRF token is derived from the session, so nothing extra is stored."""
    return hmac.new(key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def optional_caller(request: Request) -> Caller | None:
    container = request.app.state.container
    token = _bearer(request)
    via_cookie = False
    if token is None:
        token = request.cookies.get(SESSION_COOKIE)
        via_cookie = True
    if not token:
        return None
    user = await container.get_auth().authenticate(token)
    if user is None:
        if via_cookie:
            return None
        raise AuthenticationFailed("The token is invalid or has expired; log in again.")
    container.get_presence().touch(user.id)  # any signed-in request: "online" in the address book
    if via_cookie and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, csrf_token_for(token, container.get_secret_key())):
            raise Forbidden("Missing or wrong CSRF token; reload the page.")
    return Caller(user=user, token=token, via_cookie=via_cookie)


async def current_caller(caller: Caller | None = Depends(optional_caller)) -> Caller:
    if caller is None:
        raise AuthenticationFailed("Log in first: send `Authorization: Bearer <token>` from POST /api/v1/auth/token.")
    return caller


async def current_user(caller: Caller = Depends(current_caller)) -> User:
    return caller.user


async def require_admin(user: User = Depends(current_user)) -> User:
    if not user.is_admin:
        raise Forbidden("Only administrators may do this.")
    return user


def secure_request(request: Request) -> bool:
    """Whether cookies set for this request must be Secure: HTTPS directly, or as a trusted proxy said
    (X-Forwarded-Proto, see web/app.py), or configured."""
    configured = bool(request.app.state.container.settings.security.secure_cookies)
    return configured or request.url.scheme == "https"
