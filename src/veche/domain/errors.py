"""Named domain errors. The HTTP and WebSocket edges map them to status codes and messages."""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "Conflict",
    "DomainError",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "RateLimited",
    "Unavailable",
]


class DomainError(Exception):
    """Base class: ``code`` is stable and machine readable, the message is for people."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class AuthenticationFailed(DomainError):
    code = "authentication_failed"


class Forbidden(DomainError):
    code = "forbidden"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unavailable(DomainError):
    """Something the request needs is down (a server, the bus); retrying later may work."""

    code = "unavailable"
