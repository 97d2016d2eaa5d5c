"""Which exceptions mean "the database cannot be reached right now" rather than a bug.

A crashed or restarting PostgreSQL, or a switch-over between a primary and its standby, surfaces as several kinds of
exception: SQLAlchemy's wrapped driver errors (a connection invalidated mid-query), asyncpg's own (no host is
read-write yet, "the database system is starting up"), and plain socket errors from connecting (refused, reset, timed
out), which SQLAlchemy passes through unwrapped. The web edge answers all of them with 503 and Retry-After; anything
else stays an error to fix. Pure: looks only at the exception, its causes and where it was raised.
"""

from __future__ import annotations

import logging
from types import TracebackType

import asyncpg
from sqlalchemy import exc as sa_exc

__all__ = ["DatabaseOutageLog", "database_unavailable"]

# SQLSTATE classes and codes that mean the server is away, going away, not yet up, or a standby (read-only).
_SQLSTATE_CLASSES = ("08",)  # connection exception
_SQLSTATES = frozenset(
    {
        "57P01",  # admin_shutdown: the server is stopping (a switch-over demotes the primary)
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now: the database system is starting up / in recovery
        "25006",  # read_only_sql_transaction: this node became a standby under us
        "53300",  # too_many_connections (every role reconnecting at once)
    }
)
_DRIVER_MODULES = ("sqlalchemy.", "asyncpg.")
_MAX_CHAIN = 8


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is unreachable or switching over (retrying in a few seconds may work)."""
    for error in _chain(exc):
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, sa_exc.TimeoutError):  # the pool waited for a connection: every one is stuck
            return True
        if isinstance(error, asyncpg.PostgresError):
            state = str(getattr(error, "sqlstate", "") or "")
            if state.startswith(_SQLSTATE_CLASSES) or state in _SQLSTATES:
                return True
        if isinstance(error, asyncpg.exceptions.PostgresConnectionError | asyncpg.TargetServerAttributeNotMatched):
            return True
        if isinstance(error, asyncpg.InterfaceError) and "connection is closed" in str(error):
            return True
        if isinstance(error, ConnectionError | TimeoutError) and _raised_by_driver(error.__traceback__):
            return True
        if isinstance(error, OSError) and not isinstance(error, ConnectionError | TimeoutError):
            if error.errno is not None and _raised_by_driver(error.__traceback__) and _network_errno(error.errno):
                return True
    return False


class DatabaseOutageLog:
    """For a background loop: a database outage is logged once when it starts (one line: no traceback, and never
    SQLAlchemy's text, which carries the statement's parameters) and once when it ends, not at every retry; the
    pause before the next retry grows while it lasts. Any other error is the caller's to log."""

    def __init__(self, logger: logging.Logger, what: str, *, max_backoff_s: float = 10.0) -> None:
        self._logger = logger
        self._what = what
        self._max_backoff_s = max_backoff_s
        self.failures = 0  # in a row, during the current outage

    def failed(self, exc: BaseException) -> bool:
        """True when ``exc`` is a database outage (now logged or known); False for an error of another kind."""
        if not database_unavailable(exc):
            return False
        if self.failures == 0:
            driver = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
            self._logger.warning(
                "%s: the database is unavailable (%s: %s); trying again until it is back",
                self._what,
                type(driver).__name__,
                driver,
            )
        self.failures += 1
        return True

    def succeeded(self) -> None:
        if self.failures:
            self._logger.info("%s: the database is back after %d failed attempts", self._what, self.failures)
        self.failures = 0

    def backoff_s(self) -> float:
        """How much longer than usual to wait before the next attempt: 0 without an outage, then 0.5, 1, 2 s, ...
        up to ``max_backoff_s``."""
        if self.failures == 0:
            return 0.0
        return float(min(self._max_backoff_s, 0.5 * 2 ** min(self.failures - 1, 16)))


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc``, the driver error SQLAlchemy wrapped, and their causes (bounded: chains can loop). Not the context:
    a bug raised while handling a database error is still a bug."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending and len(seen) < _MAX_CHAIN:
        error = pending.pop(0)
        if error is None or any(error is s for s in seen):
            continue
        seen.append(error)
        if isinstance(error, sa_exc.DBAPIError):
            pending.append(error.orig)
        pending.append(error.__cause__)
    return seen


def _raised_by_driver(traceback: TracebackType | None) -> bool:
    """Whether the exception passed through SQLAlchemy or asyncpg (a refused connection to another service is not
    the database's)."""
    while traceback is not None:
        module = str(traceback.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(_DRIVER_MODULES):
            return True
        traceback = traceback.tb_next
    return False


def _network_errno(errno: int) -> bool:
    import errno as codes

    return errno in {codes.ECONNREFUSED, codes.EHOSTUNREACH, codes.ENETUNREACH, codes.ETIMEDOUT, codes.ECONNRESET}
