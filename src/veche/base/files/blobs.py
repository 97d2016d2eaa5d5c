"""Where the bytes of chat files are kept: a small interface, with a filesystem and an S3-compatible store.

Keys are the files' random ids (URL-safe base64), so a store never sees a user's file name.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

__all__ = ["BlobMissing", "BlobStore", "BlobStoreError", "CHUNK_BYTES", "check_key"]

CHUNK_BYTES = 256 * 1024
_KEY = re.compile(r"[A-Za-z0-9_-]{16,128}")


class BlobStoreError(Exception):
    """The store could not be reached or refused the operation."""


class BlobMissing(BlobStoreError):
    """No blob under this key."""


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError(f"not a blob key: {key!r}")
    return key


class BlobStore(Protocol):
    async def put(self, key: str, source: Path, content_type: str) -> None:
        """Store the file at ``source`` under ``key`` (the caller keeps ``source`` and removes it after)."""

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The blob's bytes in chunks; :class:`BlobMissing` (from the first iteration) if there is none."""

    async def delete(self, key: str) -> None:
        """Remove the blob; no error if it is already gone."""
