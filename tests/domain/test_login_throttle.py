from __future__ import annotations

from veche.domain.login_throttle import LoginThrottle


def test_locks_after_max_failures_and_ages_out() -> None:
    throttle = LoginThrottle(max_failures=3, window_s=60)
    keys = ["login:ivan", "client:1.2.3.4"]
    for t in (0, 1, 2):
        assert throttle.retry_after(keys, t) == 0
        throttle.record_failure(keys, t)
    assert throttle.retry_after(keys, 3) == 57
    assert throttle.retry_after(["login:other", "client:1.2.3.4"], 3) == 57  # same address
    assert throttle.retry_after(["login:other", "client:5.6.7.8"], 3) == 0
    assert throttle.retry_after(keys, 60.5) == 0  # the first failure aged out


def test_success_clears_the_login() -> None:
    throttle = LoginThrottle(max_failures=2, window_s=60)
    throttle.record_failure(["login:a"], 0)
    throttle.record_success(["login:a"])
    throttle.record_failure(["login:a"], 1)
    assert throttle.retry_after(["login:a"], 2) == 0
