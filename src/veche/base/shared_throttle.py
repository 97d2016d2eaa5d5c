"""A throttle of guesses (passwords, meeting PINs) counted by every web server together.

The rules are :class:`veche.domain.login_throttle.LoginThrottle`'s. Each web server keeps its own (its attempts in
flight); before an attempt it adopts the counters stored in the database, and the outcome is applied to the stored
ones under a row lock (storage/login_throttle.py). Without a store (tests of logic) it is the local throttle alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from veche.domain.clock import Clock
from veche.domain.login_throttle import Attempt, CounterState, LoginThrottle, Outcome, Refusal
from veche.storage.unavailable import database_unavailable

__all__ = ["SharedThrottle", "ThrottleCounters"]

logger = logging.getLogger(__name__)


class ThrottleCounters(Protocol):
    """Where every web server keeps the throttles' counters."""

    async def load(self, keys: Sequence[str]) -> dict[str, CounterState]: ...

    async def update(
        self,
        keys: Sequence[str],
        change: Callable[[Mapping[str, CounterState]], Mapping[str, CounterState]],
        *,
        now: datetime,
        forget_idle_after: timedelta,
    ) -> None: ...


class SharedThrottle:
    def __init__(self, throttle: LoginThrottle, counters: ThrottleCounters | None, clock: Clock) -> None:
        self._throttle = throttle
        self._counters = counters
        self._clock = clock

    async def begin(self, login: str, address: str) -> Attempt | Refusal:
        """Reserve an attempt, counting what every web server counted, or say why and how long to wait."""
        if self._counters is not None:
            stored = await self._counters.load(self._throttle.stored_keys(login, address))
            self._throttle.adopt(login, address, stored)
        return self._throttle.begin(login, address, self._clock().timestamp())

    async def settle(self, attempt: Attempt, outcome: Outcome) -> None:
        """Count the attempt's outcome here, then in the stored counters (even if the request is cancelled)."""
        now = self._clock()
        getattr(self._throttle, outcome)(attempt, now.timestamp())
        if self._counters is None or outcome == "released":
            return  # nothing stored changes
        throttle = self._throttle
        update = self._counters.update(
            throttle.stored_keys(attempt.login, attempt.address),
            lambda stored: throttle.with_outcome(stored, outcome, attempt, now.timestamp()),
            now=now,
            forget_idle_after=timedelta(seconds=throttle.idle_after_s),
        )
        try:
            await asyncio.shield(asyncio.ensure_future(update))  # a hung-up client's failure still counts
        except Exception as e:
            if database_unavailable(e):  # the request itself answers 503; one line, not a traceback per login
                logger.warning(
                    "the %s throttle's shared counters could not be updated: the database is unavailable", throttle.name
                )
            else:
                logger.exception("the %s throttle's shared counters could not be updated", throttle.name)
