"""Why an upload was refused. Each carries the HTTP status the web edge answers with (web/api/files.py)."""

from __future__ import annotations

from veche.domain.errors import InvalidInput, Unavailable

__all__ = ["FileRefused", "FileTooLarge", "Infected", "QuotaExceeded", "ScanFailed", "StorageFailed", "TypeNotAllowed"]


class FileRefused(InvalidInput):
    """The file may not be sent; the message tells the sender why."""

    code = "file_refused"
    status = 422


class FileTooLarge(FileRefused):
    code = "too_large"
    status = 413


class QuotaExceeded(FileRefused):
    code = "quota_exceeded"
    status = 413


class TypeNotAllowed(FileRefused):
    code = "type_not_allowed"
    status = 415


class Infected(FileRefused):
    code = "infected"
    status = 422


class ScanFailed(Unavailable):
    """The scan hook gave no verdict: the file is not kept (503, try again later)."""

    code = "scan_failed"


class StorageFailed(Unavailable):
    code = "storage_unavailable"
