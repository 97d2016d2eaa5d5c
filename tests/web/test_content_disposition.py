"""The download header keeps the original name for every browser and never lets one render the file."""

from __future__ import annotations

import pytest

from veche.web.content_disposition import attachment_disposition


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("Minutes.pdf", "attachment; filename=\"Minutes.pdf\"; filename*=UTF-8''Minutes.pdf"),
        ("Grüße.txt", "attachment; filename=\"Gru_e.txt\"; filename*=UTF-8''Gr%C3%BC%C3%9Fe.txt"),
        (
            'a "quoted"; x.pdf',
            "attachment; filename=\"a _quoted__ x.pdf\"; filename*=UTF-8''a%20%22quoted%22%3B%20x.pdf",
        ),
        ("отчёт.pdf", "attachment; filename=\"_____.pdf\"; filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf"),
    ],
)
def test_the_header_has_an_ascii_name_and_the_exact_one(name: str, header: str) -> None:
    assert attachment_disposition(name) == header
