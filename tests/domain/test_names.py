"""Names shown to others: every script passes; control, direction-override and invisible-only names do not."""

from __future__ import annotations

import pytest

from veche.domain.errors import InvalidInput
from veche.domain.names import clean_name


@pytest.mark.parametrize("name", ["Анна Петрова", "李小龙", "José O'Neil-Smith", "محمد", "Team 🚀", "  Bob  "])
def test_real_names_pass_stripped(name: str) -> None:
    assert clean_name(name, what="The name", max_length=64) == name.strip()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Bob\x00", "control characters"),
        ("Bob\nAdmin", "control characters"),
        ("\u202egpj.exe", "text-direction"),
        ("Eve\u2066x\u2069", "text-direction"),
        ("\u200b\u200b", "visible characters"),
        ("\u00ad\u200d", "visible characters"),
        ("", "1–64 characters"),
        ("x" * 65, "1–64 characters"),
    ],
)
def test_names_that_hide_or_break_something_are_refused(name: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        clean_name(name, what="The name", max_length=64)
