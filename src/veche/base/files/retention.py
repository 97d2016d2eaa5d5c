"""How long chat files are kept: they follow their chat (base role, checked at start and then hourly).

Deleted are files older than the chat retention (``[chat] retention_days``) and files whose chat is gone (a
deleted conference or chat); :meth:`ChatFileRetention.delete_chat` deletes one chat's files at once. Each batch of
records goes in one transaction that also frees the uploaders' quota; then their blobs are removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from veche.base.files.blobs import BlobStore, BlobStoreError
from veche.domain.chat_access import ChatRef
from veche.domain.clock import Clock, utc_now
from veche.storage.chat_files import ChatFile, ChatFileStore

__all__ = ["ChatFileRetention", "forget_blob"]

logger = logging.getLogger(__name__)

PURGE_EVERY_S = 3600.0
PURGE_BATCH = 500


async def forget_blob(blobs: BlobStore, file_id: str) -> None:
    """Remove a file's blob after its record; a failure is logged (the quota is freed, the orphan costs space)."""
    try:
        await blobs.delete(file_id)
    except BlobStoreError as exc:
        logger.error("deleting chat file %s from storage failed: %s", file_id[:8], exc)


class ChatFileRetention:
    def __init__(
        self, store: ChatFileStore, blobs: BlobStore, *, retention: timedelta | None, clock: Clock = utc_now
    ) -> None:
        """``retention``: how long files are kept (None: as long as their chat)."""
        self._store = store
        self._blobs = blobs
        self._retention = retention
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def delete_chat(self, chat: ChatRef) -> int:
        """Delete every file of ``chat`` (with its messages); how many."""
        deleted = 0
        while batch := await self._store.take_of_chat(chat.key, limit=PURGE_BATCH):
            await self._forget(batch)
            deleted += len(batch)
        return deleted

    async def purge(self, now: datetime) -> int:
        """Delete the files of chats that are gone and those older than the retention; how many."""
        orphans = 0
        while batch := await self._store.take_orphans(limit=PURGE_BATCH):
            await self._forget(batch)
            orphans += len(batch)
        if orphans:
            logger.info("deleted %d file(s) of deleted chats", orphans)
        if self._retention is None:
            return orphans
        old = 0
        while batch := await self._store.take_older_than(now - self._retention, limit=PURGE_BATCH):
            await self._forget(batch)
            old += len(batch)
        if old:
            logger.info("deleted %d chat file(s) older than %s", old, self._retention)
        return orphans + old

    async def _forget(self, files: Sequence[ChatFile]) -> None:
        for file in files:
            await forget_blob(self._blobs, file.id)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._hourly(), name="chat-file-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _hourly(self) -> None:
        while True:
            try:
                await self.purge(self._clock())
            except Exception:
                logger.exception("deleting old chat files failed (tried again in an hour)")
            await asyncio.sleep(PURGE_EVERY_S)
