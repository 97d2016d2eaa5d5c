"""Login rate limiting: a sliding window of failures per login and per client address. Pure; time passed in."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = ["LoginThrottle"]


@dataclass
class LoginThrottle:
    """Allows ``max_failures`` failed logins per key within ``window_s``; then refuses until they age out."""

    max_failures: int = 5
    window_s: float = 60.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def retry_after(self, keys: list[str], now_s: float) -> float:
        """Seconds until a login for these keys is allowed again (0 = allowed now)."""
        wait = 0.0
        for key in keys:
            window = self._prune(key, now_s)
            if len(window) >= self.max_failures:
                wait = max(wait, window[0] + self.window_s - now_s)
        return wait

    def record_failure(self, keys: list[str], now_s: float) -> None:
        for key in keys:
            self._prune(key, now_s).append(now_s)

    def record_success(self, keys: list[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _prune(self, key: str, now_s: float) -> deque[float]:
        window = self._failures.setdefault(key, deque())
        while window and window[0] <= now_s - self.window_s:
            window.popleft()
        if not window and len(self._failures) > 100_000:
            # Bound memory under a spray of distinct keys.
            self._failures.clear()
            window = self._failures.setdefault(key, deque())
        return window
