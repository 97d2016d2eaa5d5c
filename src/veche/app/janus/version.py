"""Which Janus versions Veche drives, checked against the ``info`` Janus answers at connect time.

Veche speaks the multistream VideoRoom API and needs the fixes of Janus 1.4 (SRTP for remote publishers,
VP9-SVC, the simulcast relay and access-list fixes of 1.4.1). An older engine is refused with a message
that names both versions and what to do; ``scripts/up`` builds a current one (docs/operations.md).
"""

from __future__ import annotations

import re
from typing import Any

from veche.app.media_engine import MediaEngineError

__all__ = ["MIN_JANUS_VERSION", "JanusTooOld", "check_engine_version", "parse_version"]

MIN_JANUS_VERSION = (1, 4, 0)
_VERSION = re.compile(r"^\s*(\d+)\.(\d+)\.(\d+)")


class JanusTooOld(MediaEngineError):
    """The Janus Veche reached is older than :data:`MIN_JANUS_VERSION`."""


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``"1.4.1"`` -> ``(1, 4, 1)``; None when it does not start with three numbers."""
    match = _VERSION.match(text)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def check_engine_version(info: dict[str, Any], *, where: str) -> str:
    """The ``version_string`` of Janus's ``info`` answer; raises :class:`JanusTooOld` below the minimum."""
    text = str(info.get("version_string") or "")
    version = parse_version(text)
    if version is None:
        number = info.get("version")
        if isinstance(number, int) and number > 0:  # 1401 -> 1.4.1
            version = (number // 1000, number // 100 % 10, number % 100)
            text = text or "{}.{}.{}".format(*version)
    if version is None or version < MIN_JANUS_VERSION:
        wanted = ".".join(map(str, MIN_JANUS_VERSION))
        raise JanusTooOld(
            f"Janus {text or '(no version)'} at {where} is older than {wanted}, the oldest version Veche supports. "
            "Run ./scripts/up to build a current Janus from Debian's source package, or set janus.binary "
            f'(or janus.ws_url) to a Janus >= {wanted}; see docs/operations.md, "The media engine".'
        )
    return text
