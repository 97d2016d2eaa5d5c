"""Files in chats: who may send and fetch them, the checks an upload passes, and how long files are kept.

An upload (web/api/files.py streams it into an :class:`IncomingFile`, refused once past the size limit) is
checked for type (domain/file_types.py), the sender's quota, and by the scan hook (scan.py); then stored in the
blob store under a random id, recorded with the sender's usage raised in the same transaction
(storage/chat_files.py), and posted to the chat (``ChatPoster``). Only members of a chat (``ChatAccess``) may
send files to it and download its files; to anyone else a chat or a file does not exist.

How long files are kept is retention.py's (base role): they follow their chat.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from veche.base.files.blobs import BlobMissing, BlobStore, BlobStoreError
from veche.base.files.errors import Infected, QuotaExceeded, ScanFailed, StorageFailed, TypeNotAllowed
from veche.base.files.incoming import IncomingFile
from veche.base.files.retention import forget_blob
from veche.base.files.scan import FileScanner, ScanError, Verdict
from veche.domain.chat_access import Attachment, ChatAccess, ChatPoster, ChatRef, Reader
from veche.domain.clock import Clock, utc_now
from veche.domain.errors import NotFound
from veche.domain.file_types import TypeRefusal, check_file_type, clean_file_name, describe_size
from veche.storage.chat_files import ChatFile, ChatFileStore

__all__ = ["ChatFiles", "FilePolicy", "Usage", "uploader_of"]

logger = logging.getLogger(__name__)

LEFTOVER_S = 86400.0  # an upload's temporary file this old was left by a process that died
NO_SUCH_CHAT = "No such chat."
NO_SUCH_FILE = "No such file."


@dataclass(frozen=True)
class FilePolicy:
    max_size_bytes: int
    allowed_types: tuple[str, ...]
    quota_bytes: int | None  # per uploader; None: no quota


@dataclass(frozen=True)
class Usage:
    used_bytes: int
    quota_bytes: int | None


def uploader_of(reader: Reader) -> str:
    """Whose quota a file counts against: the user's, or (guests have no account) the conference's guests'."""
    if reader.user_id is not None:
        return f"user:{reader.user_id}"
    if reader.guest_conference_id is not None:
        return f"guests:conference:{reader.guest_conference_id}"
    raise ValueError("a reader is a user or a guest")


class ChatFiles:
    def __init__(
        self,
        store: ChatFileStore,
        blobs: BlobStore,
        scanner: FileScanner,
        access: ChatAccess,
        poster: ChatPoster,
        policy: FilePolicy,
        *,
        temp_dir: Path,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._scanner = scanner
        self._access = access
        self._poster = poster
        self.policy = policy
        self._temp_dir = temp_dir
        self._clock = clock
        self._swept = False

    # -- sending ----------------------------------------------------------------------------------------------

    async def check_member(self, reader: Reader, chat: ChatRef) -> None:
        """:class:`NotFound` unless ``reader`` may read ``chat`` (checked before any upload is read)."""
        if not await self._access.may_read(reader, chat):
            raise NotFound(NO_SUCH_CHAT)

    async def check_room_for(self, reader: Reader, size: int) -> None:
        """:class:`QuotaExceeded` if a file of ``size`` bytes would not fit in the reader's quota."""
        quota = self.policy.quota_bytes
        if quota is None:
            return
        used = await self._store.usage(uploader_of(reader))
        if used + size > quota:
            raise QuotaExceeded(_quota_message(used, quota, size))

    def incoming(self, name: str = "", declared_type: str = "") -> IncomingFile:
        """Where an upload is written as it arrives, with the size limit enforced while writing."""
        if not self._swept:
            self._swept = True
            _remove_leftovers(self._temp_dir, older_than_s=LEFTOVER_S)
        return IncomingFile(
            self._temp_dir, limit_bytes=self.policy.max_size_bytes, name=name, declared_type=declared_type
        )

    async def send(self, reader: Reader, chat: ChatRef, upload: IncomingFile, text: str = "") -> Attachment:
        """Check a complete upload, keep it and post it to ``chat`` as ``reader``; the attachment posted."""
        await self.check_member(reader, chat)
        name = clean_file_name(upload.name)
        try:
            kind = check_file_type(name, upload.head, self.policy.allowed_types)
        except TypeRefusal as refusal:
            raise TypeNotAllowed(str(refusal)) from None
        await self.check_room_for(reader, upload.size)
        await self._scan(name, upload.path, reader)
        file = ChatFile(
            id=secrets.token_urlsafe(32),
            chat=chat.key,
            uploader=uploader_of(reader),
            uploader_name=reader.display_name,
            name=name,
            content_type=kind.content_type,
            size=upload.size,
            created_at=self._clock(),
        )
        try:
            await self._blobs.put(file.id, upload.path, file.content_type)
        except BlobStoreError as exc:
            logger.error("storing a chat file failed: %s", exc)
            raise StorageFailed("The file could not be stored right now; try again later.") from None
        if not await self._store.add_within_quota(file, self.policy.quota_bytes):
            await forget_blob(self._blobs, file.id)
            used = await self._store.usage(file.uploader)
            raise QuotaExceeded(_quota_message(used, self.policy.quota_bytes or 0, file.size))
        attachment = Attachment(file_id=file.id, name=file.name, size=file.size, content_type=file.content_type)
        try:
            await self._poster.post_attachment(reader, chat, attachment, text)
        except BaseException:
            await self._delete([file.id])
            raise
        logger.info(
            "chat file %s (%s) sent to %s by %s", file.id[:8], describe_size(file.size), chat.key, file.uploader
        )
        return attachment

    async def _scan(self, name: str, path: Path, reader: Reader) -> None:
        try:
            verdict = await self._scanner.scan(path)
        except ScanError as exc:
            logger.error("the scan hook failed on an upload to a chat: %s", exc)
            raise ScanFailed("The file could not be checked for viruses right now; try again later.") from None
        if verdict.verdict is Verdict.INFECTED:
            logger.warning("the scan hook refused a file from %s: %s", uploader_of(reader), verdict.detail)
            raise Infected(f"“{name}” was refused by the virus scan; it was not sent.")

    # -- fetching ---------------------------------------------------------------------------------------------

    async def file_for(self, reader: Reader, file_id: str) -> ChatFile:
        """The file if ``reader`` may read its chat; :class:`NotFound` exactly as for an unknown id otherwise."""
        file = await self._store.get(file_id) if 16 <= len(file_id) <= 64 else None
        if file is None or not await self._access.may_read(reader, ChatRef.parse(file.chat)):
            raise NotFound(NO_SUCH_FILE)
        return file

    async def content(self, file: ChatFile) -> AsyncIterator[bytes]:
        """The file's bytes, in chunks. The first chunk is fetched here, so a missing blob is NotFound and an
        unreachable store StorageFailed before any answer starts."""
        chunks = aiter(self._blobs.read(file.id))
        try:
            first = await anext(chunks, b"")
        except BlobMissing:
            logger.error("chat file %s has a record but no blob", file.id[:8])
            raise NotFound(NO_SUCH_FILE) from None
        except BlobStoreError as exc:
            logger.error("reading a chat file failed: %s", exc)
            raise StorageFailed("The file cannot be read right now; try again later.") from None

        async def rest() -> AsyncIterator[bytes]:
            if first:
                yield first
            async for chunk in chunks:
                yield chunk

        return rest()

    async def in_chat(self, reader: Reader, chat: ChatRef, *, limit: int, offset: int) -> list[ChatFile]:
        await self.check_member(reader, chat)
        return await self._store.in_chat(chat.key, limit=limit, offset=offset)

    async def usage_of(self, reader: Reader) -> Usage:
        return Usage(await self._store.usage(uploader_of(reader)), self.policy.quota_bytes)

    async def _delete(self, file_ids: Sequence[str]) -> None:
        for file_id in file_ids:
            if await self._store.take(file_id) is not None:
                await forget_blob(self._blobs, file_id)


def _remove_leftovers(directory: Path, *, older_than_s: float) -> None:
    """Temporary files of uploads a crashed process left behind (not those another process is writing now)."""
    cutoff = time.time() - older_than_s
    try:
        for path in directory.glob("upload-*"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
    except OSError:
        pass


def _quota_message(used: int, quota: int, size: int) -> str:
    return (
        f"Your files take {describe_size(used)} of your {describe_size(quota)} quota; "
        f"this one ({describe_size(size)}) does not fit. Files are deleted with their chat's history."
    )
