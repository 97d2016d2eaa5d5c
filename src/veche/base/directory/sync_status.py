"""Who runs a full sync of a source, and how far it got: claimed and reported through the shared database.

One full sync per source at a time, across every process of a cluster (base servers and `veche directory
sync`): a sync claims its source first; while it runs it beats its progress about once a second, so the
console of any web server shows it, and a sync whose beat stopped (its process died) no longer blocks the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from veche.base.directory.server import DirectoryError
from veche.domain.clock import Clock
from veche.domain.errors import Conflict
from veche.storage.directory_status import SyncStatus, SyncStatusStore

__all__ = [
    "FOLLOWING_STALE_AFTER",
    "STALE_AFTER",
    "SourceState",
    "SyncAlreadyRunning",
    "SyncRun",
    "SyncStatusReporter",
    "is_following",
    "source_state",
]

logger = logging.getLogger(__name__)

BEAT_S = 1.0  # progress written to the database this often while a sync runs
STALE_AFTER = timedelta(seconds=15)  # a running sync whose beat is older is gone
FOLLOWING_STALE_AFTER = timedelta(seconds=15)  # the base role confirms it follows changes every 5 s
FINISH_TIMEOUT_S = 5.0


class SyncAlreadyRunning(DirectoryError, Conflict):
    """A full sync of this source runs already (here or in another process)."""

    code = "directory_sync_running"


class SourceState:
    NEVER_SYNCED = "never synced"
    SYNCING = "syncing"
    COMPLETE = "complete"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


def source_state(status: SyncStatus | None, last_full_sync_at: datetime | None, now: datetime) -> str:
    """What the console says about a source's full sync (pure: the stored status and the time)."""
    if status is not None and status.run_id is not None:
        alive = status.beat_at is not None and now - status.beat_at <= STALE_AFTER
        return SourceState.SYNCING if alive else SourceState.INTERRUPTED
    if status is not None and status.phase in (SourceState.FAILED, SourceState.INTERRUPTED):
        return status.phase
    if last_full_sync_at is not None or (status is not None and status.phase == SourceState.COMPLETE):
        return SourceState.COMPLETE
    return SourceState.NEVER_SYNCED


def is_following(status: SyncStatus | None, now: datetime) -> bool:
    seen = status.following_seen_at if status else None
    return seen is not None and now - seen <= FOLLOWING_STALE_AFTER


@dataclass
class _Figures:
    phase: str = "connecting"
    people: int = 0
    groups: int = 0
    expected: int = 0


class SyncRun:
    """One claimed full sync: :meth:`update` keeps its figures, a task writes them each second."""

    def __init__(self, store: SyncStatusStore | None, clock: Clock, source: str, run_id: str) -> None:
        self._store = store
        self._clock = clock
        self.source = source
        self.run_id = run_id
        self._figures = _Figures()
        self._beat: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._store is not None and self._beat is None:
            self._beat = asyncio.create_task(self._beat_loop(), name=f"directory-sync-beat-{self.source}")

    def update(self, *, phase: str, people: int, groups: int, expected: int) -> None:
        self._figures = _Figures(phase, people, groups, expected)

    async def finish(self, phase: str, error: str | None = None) -> None:
        """``complete``, ``failed`` (with the error in plain words) or ``interrupted``."""
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
            self._beat = None
        if self._store is None:
            return
        f = self._figures
        try:
            await asyncio.wait_for(
                self._store.finish(
                    self.source,
                    self.run_id,
                    phase=phase,
                    error=error,
                    now=self._clock(),
                    people=f.people,
                    groups=f.groups,
                    expected=f.expected,
                ),
                FINISH_TIMEOUT_S,
            )
        except Exception:
            logger.exception("directory %s: recording the end of the sync failed", self.source)

    async def _beat_loop(self) -> None:
        assert self._store is not None
        while True:
            await asyncio.sleep(BEAT_S)
            f = self._figures
            try:
                await self._store.progress(
                    self.source,
                    self.run_id,
                    phase=f.phase,
                    people=f.people,
                    groups=f.groups,
                    expected=f.expected,
                    now=self._clock(),
                )
            except Exception as e:  # the database may be briefly away; the next beat tries again
                logger.warning("directory %s: recording sync progress failed: %r", self.source, e)


class SyncStatusReporter:
    """Claims sources for full syncs; without a store (some tests) every claim succeeds and nothing is written."""

    def __init__(self, store: SyncStatusStore | None, clock: Clock) -> None:
        self.store = store
        self._clock = clock

    async def try_claim(self, source: str, run_id: str, *, trigger: str) -> str | None:
        """None when ``run_id`` now owns the source's sync; otherwise the run id of the sync that runs."""
        if self.store is None:
            return None
        now = self._clock()
        return await self.store.claim(source, run_id, trigger=trigger, now=now, stale_before=now - STALE_AFTER)

    async def claim(self, source: str, *, trigger: str) -> SyncRun:
        """Claim a new run, or raise :class:`SyncAlreadyRunning`."""
        run_id = secrets.token_hex(8)
        if await self.try_claim(source, run_id, trigger=trigger) is not None:
            raise SyncAlreadyRunning(
                f"Directory source {source}: a full sync is already running; wait for it to finish "
                "(the console shows its progress)."
            )
        return self.run(source, run_id)

    def run(self, source: str, run_id: str) -> SyncRun:
        """A run claimed before (by :meth:`try_claim`)."""
        return SyncRun(self.store, self._clock, source, run_id)

    async def record_error(self, source: str, message: str) -> None:
        if self.store is not None:
            await self.store.record_error(source, message, self._clock())

    async def following(self, source: str, *, following: bool, changed: bool) -> None:
        if self.store is not None:
            now = self._clock()
            await self.store.following(
                source, seen_at=now if following else None, last_change_at=now if changed else None
            )
