"""An upload on its way in: written to a temporary file as it arrives, refused as soon as it passes the limit.

The first bytes are kept for type sniffing (domain/file_types.py). The temporary file is the owner's only (0600)
and removed when the upload is closed, whatever happened to it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from veche.base.files.errors import FileTooLarge
from veche.domain.file_types import SNIFF_BYTES, describe_size

__all__ = ["IncomingFile"]

FLUSH_BYTES = 1024 * 1024


class IncomingFile:
    def __init__(self, directory: Path, *, limit_bytes: int, name: str = "", declared_type: str = "") -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = directory / f"upload-{secrets.token_hex(16)}"
        self.limit_bytes = limit_bytes
        self.name = name
        self.declared_type = declared_type
        self.size = 0
        self.head = b""
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._out: BinaryIO = os.fdopen(fd, "wb")

    async def write(self, chunk: bytes) -> None:
        """Take the next bytes; :class:`FileTooLarge` once the file passes the limit (nothing more is read)."""
        self.size += len(chunk)
        if self.size > self.limit_bytes:
            raise FileTooLarge(
                f"The file is larger than the limit of {describe_size(self.limit_bytes)}; it was not sent."
            )
        if len(self.head) < SNIFF_BYTES:
            self.head += chunk[: SNIFF_BYTES - len(self.head)]
        self._pending.append(chunk)
        self._pending_bytes += len(chunk)
        if self._pending_bytes >= FLUSH_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        data, self._pending, self._pending_bytes = b"".join(self._pending), [], 0
        if data:
            await asyncio.to_thread(self._out.write, data)

    async def finish(self) -> None:
        """All bytes are in: written out and closed (the file can be scanned and stored)."""
        await self._flush()
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        if not self._out.closed:
            self._out.flush()
            self._out.close()

    def discard(self) -> None:
        self._close()
        self.path.unlink(missing_ok=True)

    async def __aenter__(self) -> IncomingFile:
        return self

    async def __aexit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.discard)
