"""The directory sources of this base role: full syncs on demand and watchers that keep them current."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from veche.base.directory.full_sync import FullSync, ProgressCallback, SyncSummary
from veche.base.directory.server import DirectoryServer
from veche.base.directory.watcher import DirectoryWatcher
from veche.config.directory import DirectoryConfig, DirectorySource
from veche.domain.clock import Clock
from veche.storage.directory import DirectoryStore
from veche.storage.directory_groups import GroupRules

__all__ = ["DirectorySync", "rules_for"]

logger = logging.getLogger(__name__)


def rules_for(source: DirectorySource) -> GroupRules:
    return GroupRules(
        admin_groups=tuple(group for group, role in source.group_roles.items() if role == "admin"),
        access=dict(source.group_access),
        default_access=source.default_access,
    )


class DirectorySync:
    def __init__(
        self, config: DirectoryConfig, servers: Mapping[str, DirectoryServer], store: DirectoryStore, clock: Clock
    ) -> None:
        self.config = config
        self.servers = servers
        self.rules = {s.name: rules_for(s) for s in config.sources}
        self._store = store
        self._clock = clock
        self._full_sync = FullSync(store, clock)
        self.watchers: dict[str, DirectoryWatcher] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def sync(self, name: str | None = None, *, progress: ProgressCallback | None = None) -> list[SyncSummary]:
        """A full sync of one source (``name``) or of every source, one after the other."""
        names = [self.config.source(name).name] if name else [s.name for s in self.config.sources]
        return [await self._full_sync.run(self.servers[n], self.rules[n], progress=progress) for n in names]

    def start(self) -> None:
        """Follow every source's changes in the background (a first full sync runs if none completed)."""
        for source in self.config.sources:
            watcher = DirectoryWatcher(
                self.servers[source.name], self._store, self.rules[source.name], self._full_sync, self._clock
            )
            self.watchers[source.name] = watcher
            self._tasks.append(asyncio.create_task(watcher.run(), name=f"directory-watch-{source.name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for server in self.servers.values():
            await server.close()
