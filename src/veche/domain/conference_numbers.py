"""Conference numbers: what a phone dials to reach a conference (sip:<number>@<domain>, docs/sip.md).

Eight digits, never starting with 0 (a PBX may strip a leading zero), random so numbers cannot be found by
counting. The store picks one that is free when it creates a conference; migration 0021 numbers older ones.
"""

from __future__ import annotations

import re
import secrets

__all__ = ["NUMBER_DIGITS", "is_conference_number", "new_conference_number"]

NUMBER_DIGITS = 8
_FORM = re.compile(r"[1-9][0-9]{5,15}")  # what a dialled number may look like (older or longer numbers too)


def new_conference_number() -> str:
    return str(10 ** (NUMBER_DIGITS - 1) + secrets.randbelow(9 * 10 ** (NUMBER_DIGITS - 1)))


def is_conference_number(text: str) -> bool:
    return _FORM.fullmatch(text) is not None
