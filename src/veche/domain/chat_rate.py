"""Chat rate limit: a token bucket per participant. Pure; time passed in (seconds, any monotonic origin).

Each participant starts with ``burst`` tokens; a message takes one; tokens come back at ``per_second`` up to
``burst``. A message with no token left is refused (and takes nothing), so a flood is cut to ``per_second``
messages a second, however fast it is sent.

The defaults (a burst of 10, then 1 a second) are above what people do in a chat: typing, one rarely sends more
than a message every few seconds, and even pasting several short lines in a row stays within 10. A script sending
hundreds a second gets 10, then one a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ChatRateLimit", "TokenBucket"]

DEFAULT_BURST = 10
DEFAULT_PER_SECOND = 1.0


@dataclass
class TokenBucket:
    burst: int = DEFAULT_BURST
    per_second: float = DEFAULT_PER_SECOND
    tokens: float = field(init=False)  # starts full
    updated_s: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.burst < 1 or self.per_second <= 0:
            raise ValueError("a token bucket needs burst >= 1 and per_second > 0")
        self.tokens = float(self.burst)

    def take(self, now_s: float) -> bool:
        """Take a token if there is one (True), else refuse (False) and take nothing."""
        if self.updated_s is not None and now_s > self.updated_s:
            self.tokens = min(float(self.burst), self.tokens + (now_s - self.updated_s) * self.per_second)
        if self.updated_s is None or now_s > self.updated_s:
            self.updated_s = now_s  # a clock going backwards refills nothing
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class ChatRateLimit:
    """One :class:`TokenBucket` per participant of a conference."""

    burst: int = DEFAULT_BURST
    per_second: float = DEFAULT_PER_SECOND
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def allow(self, participant_id: str, now_s: float) -> bool:
        bucket = self._buckets.get(participant_id)
        if bucket is None:
            bucket = self._buckets[participant_id] = TokenBucket(self.burst, self.per_second)
        return bucket.take(now_s)

    def forget(self, participant_id: str) -> None:
        """The participant left: his bucket goes with him."""
        self._buckets.pop(participant_id, None)
