"""Keeping one source current: follow its changes, apply them, remember the cookie; reconnect with backoff.

A source never fully synced gets a full sync first; so does one whose server cannot continue from our cookie
(RFC 4533 e-syncRefreshRequired, a present phase, a different AD domain controller).
"""

from __future__ import annotations

import asyncio
import logging
import time

from veche.base.directory.full_sync import FullSync
from veche.base.directory.server import (
    DirectoryChange,
    DirectoryError,
    DirectoryServer,
    EntriesDeleted,
    EntriesPresent,
    EntryChanged,
    NewCookie,
    RefreshDone,
    RefreshRequired,
)
from veche.domain.clock import Clock
from veche.domain.directory import access_mask
from veche.storage.directory import DirectoryStore
from veche.storage.directory_groups import GroupRules
from veche.storage.directory_seen import PassChanges

__all__ = ["DirectoryWatcher"]

logger = logging.getLogger(__name__)

BACKOFF_START_S = 0.2
BACKOFF_MAX_S = 10.0
GROUP_RESOLVE_DELAY_S = 0.3  # group changes arrive in bursts: resolve once after the burst
COOKIE_SAVE_INTERVAL_S = 0.5


class _FullSyncNeeded(Exception):
    pass


class DirectoryWatcher:
    def __init__(
        self, server: DirectoryServer, store: DirectoryStore, rules: GroupRules, full_sync: FullSync, clock: Clock
    ) -> None:
        self.server = server
        self._store = store
        self._rules = rules
        self._full_sync = full_sync
        self._clock = clock
        self._name = server.source.name
        self._resolve_task: asyncio.Task[None] | None = None
        self._group_changes = PassChanges()  # members added or removed since the last resolve
        self._cookie: bytes | None = None
        self._cookie_saved_at = 0.0
        self.applied = 0  # changes applied (for tests and statistics)
        self.connected = asyncio.Event()
        self.last_error: DirectoryError | None = None  # why it is not following (shown in the console)

    async def run(self) -> None:
        """Run until cancelled."""
        backoff = BACKOFF_START_S
        full_sync_due = False
        while True:
            try:
                state = await self._store.state(self._name)
                if full_sync_due or state is None or state.cookie is None or state.phase != "idle":
                    await self._full_sync.run(self.server, self._rules)
                    full_sync_due = False
                    state = await self._store.state(self._name)
                # Without a cookie (the server gave none), content sync starts from the full content.
                cookie = state.cookie if state else None
                async for change in self.server.changes(cookie):
                    self.connected.set()
                    await self.apply(change)
                    backoff = BACKOFF_START_S
            except _FullSyncNeeded:
                logger.info("directory %s: the server asks for a full sync (in %.1f s)", self._name, backoff)
                full_sync_due = True
                await asyncio.sleep(backoff)  # a server that keeps asking must not get back-to-back full syncs
                backoff = min(backoff * 2, BACKOFF_MAX_S)
            except DirectoryError as e:
                self.connected.clear()
                self.last_error = e
                logger.warning("directory %s: %s (retrying in %.1f s)", self._name, e.message, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
            except asyncio.CancelledError:
                await self._flush_cookie()
                raise
            except Exception:
                logger.exception("directory %s: watcher failed (retrying in %.1f s)", self._name, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def apply(self, change: DirectoryChange) -> None:
        now = self._clock()
        if isinstance(change, EntryChanged):
            if change.person is not None:
                _, touched = await self._store.upsert_people(
                    [change.person],
                    default_access=access_mask([self._rules.default_access]),
                    now=now,
                )
                if touched:
                    await self._store.resolve(self._name, self._rules, user_ids=touched)
            if change.group is not None:
                await self._store.upsert_groups([change.group], changes=self._group_changes)
                self._resolve_soon()
            self.applied += 1
        elif isinstance(change, EntriesDeleted):
            await self._store.disable_people(self._name, change.external_ids)
            if await self._store.delete_groups(self._name, change.external_ids):
                self._group_changes.all()  # whose groups a removed group changes is not known any more
                self._resolve_soon()
            self.applied += 1
        elif isinstance(change, EntriesPresent):
            return
        elif isinstance(change, RefreshDone):
            if change.present_phase:
                # Entries not listed as present were deleted; only a full pass can tell which.
                raise _FullSyncNeeded()
            await self._remember_cookie(change.cookie, force=True)
            return
        elif isinstance(change, RefreshRequired):
            raise _FullSyncNeeded()
        await self._remember_cookie(
            change.cookie if isinstance(change, EntryChanged | EntriesDeleted | NewCookie) else None,
            force=isinstance(change, NewCookie),
        )

    def _resolve_soon(self) -> None:
        if self._resolve_task is None or self._resolve_task.done():
            self._resolve_task = asyncio.create_task(self._resolve_later())

    async def _resolve_later(self) -> None:
        await asyncio.sleep(GROUP_RESOLVE_DELAY_S)
        while True:
            changes, self._group_changes = self._group_changes, PassChanges()
            try:
                await self._store.resolve_changes(self._name, self._rules, changes)
            except Exception:
                self._group_changes.all()  # the next resolve recomputes everyone's groups
                logger.exception("directory %s: resolving groups failed", self._name)
                return
            pending = self._group_changes
            if not (pending.everything or pending.people or pending.members):
                return  # nothing arrived while resolving

    async def _remember_cookie(self, cookie: bytes | None, *, force: bool) -> None:
        if cookie:
            self._cookie = cookie
        if self._cookie and (force or time.monotonic() - self._cookie_saved_at >= COOKIE_SAVE_INTERVAL_S):
            await self._flush_cookie()

    async def _flush_cookie(self) -> None:
        if self._cookie:
            await self._store.save_cookie(self._name, self._cookie)
            self._cookie_saved_at = time.monotonic()
