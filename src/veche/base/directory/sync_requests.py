"""The base role's answer to the console's "Sync now" (:class:`StartDirectorySync` on the bus)."""

from __future__ import annotations

import logging

from veche.base.directory.sync_service import DirectorySync
from veche.bus.base import Bus
from veche.bus.messages import BusMessage, CommandResult, StartDirectorySync

__all__ = ["DirectorySyncRequests"]

logger = logging.getLogger(__name__)


class DirectorySyncRequests:
    """Starts a full sync in the background and answers at once: started, already running, or unknown source."""

    def __init__(self, bus: Bus, sync: DirectorySync) -> None:
        self._bus = bus
        self._sync = sync

    def start(self) -> None:
        self._bus.handle(StartDirectorySync, self._handle)

    async def _handle(self, request: StartDirectorySync) -> BusMessage | None:
        name = request.source
        if name not in self._sync.servers:
            return CommandResult(
                ok=False, code="not_found", message=f"This base server has no directory source {name!r}."
            )
        holder = await self._sync.start_full_sync(name, request.request_id, trigger="console")
        if holder is None:
            logger.info("directory %s: full sync asked for from the console", name)
            return CommandResult(ok=True, code="started", message=f"Full sync of {name} started.")
        if holder == request.request_id:
            return None  # another base server of the cluster claimed this very request and answers it
        return CommandResult(ok=False, code="already_running", message=f"A full sync of {name} is already running.")
