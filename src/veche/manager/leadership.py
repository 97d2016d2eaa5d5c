"""Manager role: one active manager, the others standby, by a leader lock in the database.

The active manager renews the lock (:mod:`veche.storage.leader_lock`) every ``renew_s``, for ``ttl_s`` from the
moment it asked; a standby tries to take it at the same pace and succeeds once the lock is free or expired. Only
the active manager serves the manager's bus subjects (license grants, registration) and runs its periodic work: it
calls ``elected`` when it takes the lock, ``deposed`` when it loses it.

Fencing: the lock in the database runs until (the holder's wall clock at the renewal) + ``ttl_s``; the holder
counts its own validity from the monotonic time *before* it asked, less a margin, so it stops serving before
any standby can see the lock expired. A renewal that fails, or does not return by then, deposes it at once (a
renewal still in flight is abandoned). Each take-over raises the license pool's epoch (``elected`` returns it) and is
logged and stored for the console: "manager <name> took over from <old>, epoch N".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from veche.bus.lease_messages import ManagerTakeover
from veche.domain.clock import Clock
from veche.storage.leader_lock import LeaderLockStore, Takeover

__all__ = ["LOCK_NAME", "ManagerLeadership", "holder_name"]

logger = logging.getLogger(__name__)

LOCK_NAME = "manager"


def holder_name(holder: str) -> str:
    """The server name part of a lock holder (``<name>@<server id>``)."""
    return holder.split("@", 1)[0] or holder


class ManagerLeadership:
    def __init__(
        self,
        locks: LeaderLockStore,
        *,
        holder: str,  # "<name>@<server id>": unique per server, readable in the log
        ttl_s: float,
        renew_s: float,
        wall: Clock,
        elected: Callable[[], Awaitable[int]],  # starts serving; returns the license epoch it started
        deposed: Callable[[], Awaitable[None]],  # stops serving (its first step must not wait on I/O)
        clock_s: Callable[[], float] = time.monotonic,
    ) -> None:
        if renew_s >= ttl_s / 2:
            raise ValueError("the leader lock must be renewed at least twice per ttl")
        self._locks = locks
        self.holder = holder
        self._ttl_s = ttl_s
        self._renew_s = renew_s
        # The holder stops this long before the lock it wrote expires: the time to stop serving, and clock drift.
        self._margin_s = min(1.0, ttl_s / 4)
        self._wall = wall
        self._elected = elected
        self._deposed = deposed
        self._clock_s = clock_s
        self._valid_until = 0.0  # monotonic; serving only while active and before this
        self.active = False
        self._task: asyncio.Task[None] | None = None

    def is_active(self) -> bool:
        """Whether this manager serves now (the lock held, and not past its own fence)."""
        return self.active and self._clock_s() < self._valid_until

    async def start(self) -> None:
        """Try once at once (a lone manager is active before it returns), then keep trying or renewing."""
        await self.attempt()
        self._task = asyncio.create_task(self._loop(), name="manager-leadership")

    async def stop(self) -> None:
        """A clean stop: stop serving, then give the lock back so a standby takes over without waiting."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.active:
            await self._step_down("stopping")
            try:
                await self._locks.release(LOCK_NAME, self.holder)
            except Exception:
                logger.exception("manager: could not release the leader lock (it expires by itself)")

    async def attempt(self) -> None:
        """One try to take or renew the lock, fencing this manager off if it fails in time."""
        asked_at = self._clock_s()
        previous = ""
        error = ""
        try:
            if not self.active:
                found = await self._locks.holder(LOCK_NAME)
                previous = found.holder if found is not None and found.holder != self.holder else ""
            # The active manager waits for the answer only until its fence: after that it must not serve anyway.
            budget = self._valid_until - asked_at if self.active else self._ttl_s
            held = await asyncio.wait_for(
                self._locks.acquire(LOCK_NAME, self.holder, now=self._wall(), ttl=timedelta(seconds=self._ttl_s)),
                timeout=max(0.01, budget),
            )
        except Exception as e:  # the database away, or no answer before the fence (TimeoutError)
            held, error = False, str(e) or type(e).__name__
        if held:
            self._valid_until = asked_at + self._ttl_s - self._margin_s
            if not self.active:
                await self._take_over(previous)
            return
        if not self.active:
            return
        if not error:
            await self._step_down("another manager holds the leader lock")
        elif self._clock_s() + self._renew_s >= self._valid_until:
            # The next try would come after the fence: stop now, before any standby may take over.
            await self._step_down(f"could not renew the leader lock in time ({error})")
        else:
            logger.warning("manager: renewing the leader lock failed (%s); trying again", error)

    async def _take_over(self, previous: str) -> None:
        self.active = True
        try:
            epoch = await self._elected()
        except Exception:
            logger.exception("manager: starting as the active manager failed; giving the lock back")
            await self._step_down("failed to start")
            with contextlib.suppress(Exception):
                await self._locks.release(LOCK_NAME, self.holder)
            return
        name = holder_name(self.holder)
        if previous:
            logger.warning("manager %s took over from %s, epoch %d", name, holder_name(previous), epoch)
        else:
            logger.info("manager %s is the active manager, epoch %d", name, epoch)
        try:
            await self._locks.record_takeover(Takeover(self._wall(), LOCK_NAME, name, holder_name(previous), epoch))
        except Exception:
            logger.exception("manager: could not store the take-over")

    async def _step_down(self, why: str) -> None:
        self.active = False
        self._valid_until = 0.0
        logger.warning("manager %s stops serving: %s", holder_name(self.holder), why)
        try:
            await self._deposed()
        except Exception:
            logger.exception("manager: stopping the manager's work failed")

    async def takeovers(self, limit: int = 20) -> list[ManagerTakeover]:
        """The latest take-overs, newest first (the License page shows them)."""
        return [
            ManagerTakeover(at=t.at.isoformat(), manager=t.holder, previous=t.previous, epoch=t.epoch)
            for t in await self._locks.takeovers(LOCK_NAME, limit)
        ]

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._renew_s)
            await self.attempt()
