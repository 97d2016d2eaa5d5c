"""The ``Content-Disposition: attachment`` header for a download, with its original name (RFC 6266, RFC 5987)."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

__all__ = ["attachment_disposition"]


def _ascii_fallback(name: str) -> str:
    # For clients that ignore filename*: the name without accents; other non-ASCII or quoting characters as "_".
    kept = []
    for c in unicodedata.normalize("NFKD", name):
        if unicodedata.combining(c):
            continue
        kept.append(c if 0x20 <= ord(c) < 0x7F and c not in '"\\%;' else "_")
    return "".join(kept).strip() or "download"


def attachment_disposition(name: str) -> str:
    """``attachment; filename="<ASCII>"; filename*=UTF-8''<percent-encoded>``: every browser downloads it under
    its original name and none renders it."""
    return f"attachment; filename=\"{_ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}"
