"""The little SDP reading the engine needs: which mids carry audio and which carry video."""

from __future__ import annotations

__all__ = ["first_video_codec", "media_mids", "video_sections"]


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


def video_sections(sdp: str) -> list[tuple[int, str]]:
    """``(mindex, mid)`` of every video m-section that is not rejected, in SDP order."""
    result: list[tuple[int, str]] = []
    index = -1
    kind: str | None = None
    rejected = False
    for raw in sdp.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            index += 1
            fields = line[2:].split()
            kind = fields[0] if fields else None
            rejected = len(fields) > 1 and fields[1] == "0"
        elif line.startswith("a=mid:") and kind == "video" and not rejected:
            result.append((index, line[len("a=mid:") :].strip()))
    return result


def first_video_codec(sdp: str) -> str | None:
    """The lower-case name of the first payload type of the first video section (an answer has chosen it)."""
    in_video = False
    first_pt: str | None = None
    for raw in sdp.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            if first_pt is not None:
                break
            fields = line[2:].split()
            in_video = bool(fields) and fields[0] == "video" and len(fields) > 3 and fields[1] != "0"
            first_pt = fields[3] if in_video else None
        elif in_video and first_pt is not None and line.startswith(f"a=rtpmap:{first_pt} "):
            return line.split(" ", 1)[1].split("/", 1)[0].lower()
    return None
