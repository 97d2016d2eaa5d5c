"""What a name shown to other people may contain: display names, conference names, server names. Pure.

Refused: control characters (NUL, escapes, line breaks), bidirectional overrides and isolates (which make a name
read as something else: "‮gpj.exe"), and names that are only invisible characters or spaces (zero-width
spaces, joiners, soft hyphens...). Letters of every script, digits, punctuation, emoji and ordinary spaces pass.
"""

from __future__ import annotations

import unicodedata

from veche.domain.errors import InvalidInput

__all__ = ["clean_name"]

# U+202A..U+202E embeddings and overrides, U+2066..U+2069 isolates, U+200E/U+200F/U+061C marks.
_BIDI_CONTROLS = frozenset(chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C])


def clean_name(text: str, *, what: str, max_length: int) -> str:
    """``text`` stripped, or :class:`InvalidInput` saying what is wrong with it (``what``: "The display name")."""
    name = text.strip()
    if not name or len(name) > max_length:
        raise InvalidInput(f"{what} must be 1–{max_length} characters.")
    for ch in name:
        if ch in _BIDI_CONTROLS:
            raise InvalidInput(f"{what} may not contain text-direction control characters.")
        if unicodedata.category(ch) == "Cc":
            raise InvalidInput(f"{what} may not contain control characters (such as line breaks or NUL).")
    if all(unicodedata.category(ch) in ("Cf", "Zs", "Mn", "Me") for ch in name):
        raise InvalidInput(f"{what} must contain visible characters.")
    return name
