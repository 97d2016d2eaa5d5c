"""The directory sources of this base role: full syncs on demand and watchers that keep them current.

With several base servers, each source is followed by one of them: the one holding its lease in the database
(:class:`~veche.storage.directory_leases.WatchLeaseStore`). Every base server tries to take the leases of the
sources it does not follow every ``LEASE_RENEW_S``; the holder renews its own. When the holder dies, its leases
expire after ``LEASE_TTL_S`` and another base server starts following those sources (a watcher continues from the
cookie in the database, so nothing is lost). A clean stop gives the leases back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Coroutine, Mapping
from datetime import timedelta
from typing import Any

from veche.base.directory.full_sync import FullSync, ProgressCallback, SyncSummary
from veche.base.directory.server import DirectoryError, DirectoryServer
from veche.base.directory.sync_status import SyncAlreadyRunning, SyncStatusReporter
from veche.base.directory.watcher import DirectoryWatcher
from veche.config.directory import DirectoryConfig, DirectorySource
from veche.domain.clock import Clock
from veche.storage.directory import DirectoryStore
from veche.storage.directory_groups import GroupRules
from veche.storage.directory_leases import WatchLeaseStore

__all__ = ["DirectorySync", "rules_for"]

logger = logging.getLogger(__name__)

FOLLOWING_CHECK_S = 1.0  # how often the watchers' state is looked at (in memory)
FOLLOWING_BEAT_S = 5.0  # how often "still following" is written to the database
LEASE_TTL_S = 6.0  # a dead base server's sources are followed by another after at most this (+ LEASE_RENEW_S)
LEASE_RENEW_S = 2.0


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
        leases: WatchLeaseStore | None = None,
        *,
        lease_ttl_s: float = LEASE_TTL_S,
        lease_renew_s: float = LEASE_RENEW_S,
    ) -> None:
        """``leases`` None: this process follows every source (one base server, or a test)."""
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
        self._leases = leases
        self._lease_ttl = timedelta(seconds=lease_ttl_s)
        self._lease_renew_s = lease_renew_s
        self.holder = f"base-{secrets.token_hex(6)}"  # this process, as a lease holder
        self.held: set[str] = set()  # sources whose lease this process holds
        self.lease_rounds = 0  # times this process has taken or renewed leases (for tests)

    async def sync(self, name: str | None = None, *, progress: ProgressCallback | None = None) -> list[SyncSummary]:
        """A full sync of one source (``name``) or of every source, one after the other."""
        names = [self.config.source(name).name] if name else [s.name for s in self.config.sources]
        return [
            await self._full_sync.run(self.servers[n], self.rules[n], progress=progress, trigger="command")
            for n in names
        ]

    def start(self) -> None:
        """Follow the sources' changes in the background (a first full sync runs if none completed): every
        source, or with leases those whose lease this process holds."""
        self._watching = True
        for source in self.config.sources:  # every source has a watcher object; it runs where the lease is held
            self.watchers[source.name] = self._new_watcher(source.name)
        if self._leases is None:
            for source in self.config.sources:
                self._start_watcher(source.name)
        else:
            self._spawn(self._keep_leases(self._leases), "directory-leases")
        self._spawn(self._report_following(), "directory-following")

    async def _keep_leases(self, leases: WatchLeaseStore) -> None:
        """Take free or expired leases and renew held ones; follow exactly the sources held."""
        while True:
            for source in self.config.sources:
                name = source.name
                try:
                    holds = await leases.acquire(name, self.holder, now=self._clock(), ttl=self._lease_ttl)
                except Exception as e:
                    logger.warning("directory %s: the watch lease could not be renewed: %r", name, e)
                    holds = False  # without the database, another base server may take it over
                if holds and name not in self.held:
                    logger.info("directory %s: this base server follows its changes now", name)
                    self.held.add(name)
                    if name not in self._watch_tasks:
                        self._start_watcher(name)
                elif not holds and name in self.held:
                    logger.info("directory %s: another base server follows its changes now", name)
                    self.held.discard(name)
                    await self._stop_watcher(name)
            self.lease_rounds += 1
            await asyncio.sleep(self._lease_renew_s)

    async def _stop_watcher(self, name: str) -> None:
        task = self._watch_tasks.pop(name, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        watcher = self.watchers.get(name)
        if watcher is not None:
            watcher.connected.clear()

    @property
    def following_sources(self) -> set[str]:
        """Sources whose changes this process follows now (its watcher runs)."""
        return {name for name, task in self._watch_tasks.items() if not task.done()}

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
            if self._watching and not self._stopping and (self._leases is None or name in self.held):
                self._start_watcher(name)

    def _new_watcher(self, name: str) -> DirectoryWatcher:
        return DirectoryWatcher(self.servers[name], self._store, self.rules[name], self._full_sync, self._clock)

    def _start_watcher(self, name: str) -> None:
        watcher = self.watchers.get(name)
        if watcher is None or name in self._watch_tasks or watcher.applied or watcher.connected.is_set():
            watcher = self._new_watcher(name)  # a fresh one after a console sync or a lost lease
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
                if self._leases is not None and name not in self.held:
                    continue  # another base server follows it and says so
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
        # Changes applied since last looked at (all of a watcher's first look: it may start applying before that).
        changed = watcher.applied > 0 and before != (watcher, watcher.applied)
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
        if self._leases is not None:
            for name in sorted(self.held):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._leases.release(name, self.holder), 2.0)
            self.held.clear()
        for server in self.servers.values():
            await server.close()
