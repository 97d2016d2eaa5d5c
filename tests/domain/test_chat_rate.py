"""The chat rate limit: a burst, then a steady rate; time passed in."""

from __future__ import annotations

import pytest

from veche.domain.chat_rate import ChatRateLimit, TokenBucket


def test_burst_then_refused_then_refilled() -> None:
    limit = ChatRateLimit(burst=10, per_second=1.0)
    results = [limit.allow("p1", 100.0) for _ in range(50)]
    assert results == [True] * 10 + [False] * 40
    assert limit.allow("p1", 100.5) is False  # half a token is not a message
    assert limit.allow("p1", 101.0) is True  # one second: one message
    assert limit.allow("p1", 101.0) is False
    assert [limit.allow("p1", 1000.0) for _ in range(12)] == [True] * 10 + [False] * 2  # refills up to the burst


def test_participants_have_their_own_buckets_and_leaving_forgets() -> None:
    limit = ChatRateLimit(burst=2, per_second=1.0)
    assert [limit.allow("flood", 0.0) for _ in range(3)] == [True, True, False]
    assert limit.allow("calm", 0.0) is True
    limit.forget("flood")
    assert limit.allow("flood", 0.0) is True


def test_refused_messages_take_nothing_and_a_clock_going_back_refills_nothing() -> None:
    bucket = TokenBucket(burst=1, per_second=1.0)
    assert bucket.take(10.0) is True
    assert [bucket.take(10.0 + i / 10) for i in range(1, 10)] == [False] * 9  # refusals cost no tokens
    assert bucket.take(11.0) is True
    assert bucket.take(5.0) is False  # earlier than last seen: no refill
    assert bucket.take(11.0) is False
    assert bucket.take(12.0) is True


def test_a_bucket_needs_sensible_values() -> None:
    with pytest.raises(ValueError):
        TokenBucket(burst=0)
    with pytest.raises(ValueError):
        TokenBucket(per_second=0)
