"""When a meeting may be joined, and the signed answer links of its mails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from veche.domain.errors import NotFound
from veche.domain.meeting_links import answer_token, read_answer_token
from veche.domain.meeting_window import join_window
from veche.domain.meetings import Occurrence

START = datetime(2027, 3, 22, 9, 0, tzinfo=UTC)
ONE = [Occurrence(START, START, START + timedelta(hours=1))]
TEN = timedelta(minutes=10)


def test_closed_until_ten_minutes_before_then_open_until_the_end() -> None:
    early = join_window(ONE, now=START - timedelta(minutes=11), open_before=TEN, opened_until=None)
    assert not early.open and early.opens_at == START - TEN
    assert join_window(ONE, now=START - TEN, open_before=TEN, opened_until=None).open
    assert join_window(ONE, now=START + timedelta(minutes=59), open_before=TEN, opened_until=None).open
    over = join_window([], now=START + timedelta(hours=2), open_before=TEN, opened_until=None)
    assert not over.open and over.opens_at is None


def test_started_early_by_the_owner() -> None:
    now = START - timedelta(hours=2)
    assert join_window(ONE, now=now, open_before=TEN, opened_until=START + timedelta(hours=1)).open


def test_answer_links_name_one_invitee_and_cannot_be_forged() -> None:
    token = answer_token(b"k" * 32, 12, 34)
    link = read_answer_token(b"k" * 32, token)
    assert (link.meeting_id, link.invitee_id) == (12, 34)
    with pytest.raises(NotFound):
        read_answer_token(b"k" * 32, token.replace("12.34", "12.35"))
    with pytest.raises(NotFound):
        read_answer_token(b"other-key", token)
    with pytest.raises(NotFound):
        read_answer_token(b"k" * 32, "garbage")
