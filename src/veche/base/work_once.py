"""Work that every base server hears of, done by one: requests and events on the bus reach each base server (the
bus has no queue groups), so a handler that writes claims its piece of work first (storage/work_claims.py).

- ``keep``: how long a done piece keeps its claim, so a duplicate heard late by another server is left alone
  (chat messages: a duplicate would be a second copy). Zero when doing it again later is harmless and only doing
  it *at the same time* is not (call history batches: a newer revision wins, but two concurrent writers would
  both count the same change).
- Work that fails (raises, or answers that it failed) gives its claim back: the sender's retry may be done.
- A server that dies holding a claim blocks that piece for ``ttl`` at most.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from veche.domain.clock import Clock
from veche.storage.work_claims import WorkClaimStore

__all__ = ["WorkOnce", "work_key"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


def work_key(kind: str, *parts: object) -> str:
    """A claim key: the kind of work, and a digest of what identifies the piece."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:48]
    return f"{kind}:{digest}"


class WorkOnce:
    def __init__(
        self,
        claims: WorkClaimStore,
        holder: str,
        clock: Clock,
        *,
        ttl: timedelta = timedelta(seconds=60),
        keep: timedelta = timedelta(minutes=10),
    ) -> None:
        self._claims = claims
        self._holder = holder
        self._clock = clock
        self._ttl = ttl
        self._keep = keep

    async def run(
        self, key: str, work: Callable[[], Awaitable[T]], *, succeeded: Callable[[T], bool] = lambda _: True
    ) -> tuple[bool, T | None]:
        """Do ``work`` if this server claims ``key``: (True, its result), or (False, None) when another does."""
        if not await self._claims.claim(key, self._holder, now=self._clock(), ttl=self._ttl):
            return False, None
        try:
            result = await work()
        except BaseException:
            await self._give_back(key)
            raise
        if not succeeded(result) or not self._keep:
            await self._give_back(key)
        else:
            try:
                await self._claims.keep(key, self._holder, until=self._clock() + self._keep)
            except Exception:
                logger.exception("keeping the claim of %s failed (it lapses by itself)", key)
        return True, result

    async def _give_back(self, key: str) -> None:
        try:
            await self._claims.release(key, self._holder)
        except Exception:
            logger.exception("giving back the claim of %s failed (it lapses by itself)", key)
