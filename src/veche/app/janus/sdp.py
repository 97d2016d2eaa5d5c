"""The little SDP reading the engine needs: which mids carry audio and which carry video."""

from __future__ import annotations

__all__ = ["media_mids"]


def media_mids(sdp: str) -> dict[str, list[str]]:
    """Map ``audio``/``video``/``application`` to the mids of the m-sections that are not rejected.

    A section with port 0 (rejected) or without ``a=mid`` is skipped.
    """
    result: dict[str, list[str]] = {}
    kind: str | None = None
    rejected = False
    mid: str | None = None

    def flush() -> None:
        if kind is not None and not rejected and mid is not None:
            result.setdefault(kind, []).append(mid)

    for raw in sdp.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            flush()
            fields = line[2:].split()
            kind = fields[0] if fields else None
            rejected = len(fields) > 1 and fields[1] == "0"
            mid = None
        elif line.startswith("a=mid:") and kind is not None:
            mid = line[len("a=mid:") :].strip()
    flush()
    return result
