"""The directory sources of this base role: full syncs on demand and watchers that keep them current."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Mapping
from typing import Any

from veche.base.directory.full_sync import FullSync, ProgressCallback, SyncSummary
from veche.base.directory.server import DirectoryError, DirectoryServer
from veche.base.directory.sync_status import SyncAlreadyRunning, SyncStatusReporter
from veche.base.directory.watcher import DirectoryWatcher
from veche.config.directory import DirectoryConfig, DirectorySource
from veche.domain.clock import Clock
from veche.storage.directory import DirectoryStore
from veche.storage.directory_groups import GroupRules

__all__ = ["DirectorySync", "rules_for"]

logger = logging.getLogger(__name__)

FOLLOWING_CHECK_S = 1.0  # how often the watchers' state is looked at (in memory)
FOLLOWING_BEAT_S = 5.0  # how often "still following" is written to the database


def rules_for(source: DirectorySource) -> GroupRules:
    return GroupRules(
        admin_groups=tuple(group for group, role in source.group_roles.items() if role == "admin"),
        access=dict(source.group_access),
        default_access=source.default_access,
    )


class DirectorySync:
    def __init__(
        self,
        config: DirectoryConfig,
        servers: Mapping[str, DirectoryServer],
        store: DirectoryStore,
        clock: Clock,
        status: SyncStatusReporter | None = None,
    ) -> None:
        self.config = config
        self.servers = servers
        self.rules = {s.name: rules_for(s) for s in config.sources}
        self._store = store
        self._clock = clock
        self._status = status or SyncStatusReporter(None, clock)
        self._full_sync = FullSync(store, clock, self._status)
        self.watchers: dict[str, DirectoryWatcher] = {}
        self._watch_tasks: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # syncs asked for from the console; the following report
        self._watching = False
        self._stopping = False

    async def sync(self, name: str | None = None, *, progress: ProgressCallback | None = None) -> list[SyncSummary]:
        """A full sync of one source (``name``) or of every source, one after the other."""
        names = [self.config.source(name).name] if name else [s.name for s in self.config.sources]
        return [
            await self._full_sync.run(self.servers[n], self.rules[n], progress=progress, trigger="command")
            for n in names
        ]

    def start(self) -> None:
        """Follow every source's changes in the background (a first full sync runs if none completed)."""
        self._watching = True
        for source in self.config.sources:
            self._start_watcher(source.name)
        self._spawn(self._report_following(), "directory-following")

    async def start_full_sync(self, name: str, run_id: str, *, trigger: str = "console") -> str | None:
        """Start a full sync of ``name`` in the background, claimed as ``run_id``.

        Returns None when it started, otherwise the run id of the full sync of ``name`` that runs already
        (``run_id`` itself when another base server took this very request). While it runs, the source's
        watcher is stopped; afterwards a new one continues from the cookie taken before the pass, so changes
        made during the pass are applied and nothing the pass missed is lost.
        """
        if name not in self.servers:
            raise KeyError(name)
        holder = await self._status.try_claim(name, run_id, trigger=trigger)
        if holder is None:
            self._spawn(self._background_sync(name, run_id, trigger), f"directory-sync-{name}")
        return holder

    async def _background_sync(self, name: str, run_id: str, trigger: str) -> None:
        watcher = self._watch_tasks.pop(name, None)
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher
        try:
            await self._full_sync.run(self.servers[name], self.rules[name], trigger=trigger, run_id=run_id)
        except DirectoryError as e:
            logger.warning("directory %s: full sync (%s) failed: %s", name, trigger, e.message)
        except Exception:
            logger.exception("directory %s: full sync (%s) failed", name, trigger)
        finally:
            if self._watching and not self._stopping:
                self._start_watcher(name)

    def _start_watcher(self, name: str) -> None:
        watcher = DirectoryWatcher(self.servers[name], self._store, self.rules[name], self._full_sync, self._clock)
        self.watchers[name] = watcher
        self._watch_tasks[name] = asyncio.create_task(watcher.run(), name=f"directory-watch-{name}")

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _report_following(self) -> None:
        """Write to the database whether each source's changes are followed, and why not (for the console)."""
        written: dict[str, tuple[bool, float]] = {}  # source -> (following, when written: monotonic)
        changes: dict[str, tuple[DirectoryWatcher, int]] = {}  # source -> (its watcher, changes it applied)
        errors: dict[str, DirectoryError] = {}  # source -> the last error written
        while True:
            for name, watcher in list(self.watchers.items()):
                try:
                    await self._report_one(name, watcher, written, changes, errors)
                except Exception as e:
                    logger.warning("directory %s: recording whether changes are followed failed: %r", name, e)
            await asyncio.sleep(FOLLOWING_CHECK_S)

    async def _report_one(
        self,
        name: str,
        watcher: DirectoryWatcher,
        written: dict[str, tuple[bool, float]],
        changes: dict[str, tuple[DirectoryWatcher, int]],
        errors: dict[str, DirectoryError],
    ) -> None:
        task = self._watch_tasks.get(name)
        following = watcher.connected.is_set() and task is not None and not task.done()
        before = changes.get(name)
        changed = before is not None and watcher.applied > 0 and before != (watcher, watcher.applied)
        changes[name] = (watcher, watcher.applied)
        last = written.get(name)
        now = time.monotonic()
        if last is None or following != last[0] or changed or (following and now - last[1] >= FOLLOWING_BEAT_S):
            await self._status.following(name, following=following, changed=changed)
            written[name] = (following, now)
        error = watcher.last_error
        if error is not None and errors.get(name) is not error and not isinstance(error, SyncAlreadyRunning):
            errors[name] = error
            if not following:
                await self._status.record_error(name, error.message)

    async def stop(self) -> None:
        self._stopping = True
        tasks = [*self._tasks, *self._watch_tasks.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._watch_tasks.clear()
        if self._watching:
            for name in self.watchers:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._status.following(name, following=False, changed=False), 2.0)
        for server in self.servers.values():
            await server.close()
