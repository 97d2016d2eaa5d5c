"""The login throttle's rules, with literal times (seconds)."""

from __future__ import annotations

from veche.domain.login_throttle import Attempt, LoginThrottle, Refusal, RefusalReason


def _attempt(throttle: LoginThrottle, login: str, address: str, now: float) -> Attempt:
    reserved = throttle.begin(login, address, now)
    assert isinstance(reserved, Attempt), reserved
    return reserved


def _fail(throttle: LoginThrottle, login: str, address: str, now: float) -> None:
    throttle.failed(_attempt(throttle, login, address, now), now)


def _refused(throttle: LoginThrottle, login: str, address: str, now: float) -> Refusal:
    reserved = throttle.begin(login, address, now)
    assert isinstance(reserved, Refusal), f"{login} from {address} at {now} was let through"
    return reserved


def test_locks_a_login_at_an_address_after_max_failures_and_ages_out() -> None:
    throttle = LoginThrottle(max_failures=3, window_s=60)
    for t in (0, 1, 2):
        _fail(throttle, "ivan", "1.2.3.4", t)
    refusal = _refused(throttle, "ivan", "1.2.3.4", 3)
    assert refusal.reason is RefusalReason.ACCOUNT_FROM_ADDRESS and refusal.retry_after_s == 59
    assert refusal.retry_after_whole_s == 59
    assert throttle.check("ivan", "1.2.3.4", 61.9) is not None
    assert throttle.check("ivan", "1.2.3.4", 62) is None  # the lock lasted one window after the last failure


def test_another_address_is_not_locked_out_by_failures_elsewhere() -> None:
    throttle = LoginThrottle(max_failures=5, window_s=60)
    for t in range(5):
        _fail(throttle, "admin", "6.6.6.6", t)
    assert _refused(throttle, "admin", "6.6.6.6", 20).reason is RefusalReason.ACCOUNT_FROM_ADDRESS
    attempt = _attempt(throttle, "admin", "10.0.0.2", 20)  # the right password from elsewhere gets checked
    throttle.succeeded(attempt, 20)
    assert throttle.check("admin", "10.0.0.2", 21) is None
    assert throttle.check("admin", "6.6.6.6", 21) is not None  # and the attacker stays locked


def test_concurrent_attempts_are_reserved_before_checking() -> None:
    throttle = LoginThrottle(max_failures=5, window_s=60)
    results = [throttle.begin("admin", "6.6.6.6", 0) for _ in range(100)]
    attempts = [r for r in results if isinstance(r, Attempt)]
    refusals = [r for r in results if isinstance(r, Refusal)]
    assert len(attempts) == 5 and len(refusals) == 95
    assert all(r.reason is RefusalReason.IN_FLIGHT and r.retry_after_whole_s == 1 for r in refusals)
    for attempt in attempts:
        throttle.failed(attempt, 1)
    assert _refused(throttle, "admin", "6.6.6.6", 2).reason is RefusalReason.ACCOUNT_FROM_ADDRESS


def test_success_and_release_free_the_reservation_without_counting_a_failure() -> None:
    throttle = LoginThrottle(max_failures=2, window_s=60)
    _fail(throttle, "ivan", "a", 0)
    throttle.succeeded(_attempt(throttle, "ivan", "a", 1), 1)  # clears the pair
    throttle.released(_attempt(throttle, "ivan", "a", 2), 2)  # e.g. the directory was down: nothing learnt
    _fail(throttle, "ivan", "a", 3)
    assert throttle.check("ivan", "a", 4) is None  # one failure since the success


def test_back_off_doubles_with_each_failure_after_a_lock_up_to_the_cap() -> None:
    throttle = LoginThrottle(max_failures=2, window_s=60, max_lockout_s=200, forget_after_s=10_000)
    _fail(throttle, "ivan", "a", 0)
    _fail(throttle, "ivan", "a", 0)  # first lock: 60 s
    assert _refused(throttle, "ivan", "a", 59).retry_after_s == 1
    _fail(throttle, "ivan", "a", 60)  # one more try after the lock, wrong: 120 s
    assert _refused(throttle, "ivan", "a", 60).retry_after_s == 120
    assert throttle.check("ivan", "a", 180) is None
    first = _attempt(throttle, "ivan", "a", 180)
    assert _refused(throttle, "ivan", "a", 180).reason is RefusalReason.IN_FLIGHT  # one at a time between locks
    throttle.failed(first, 180)
    assert _refused(throttle, "ivan", "a", 180).retry_after_s == 200  # 240 capped at 200


def test_back_off_is_forgotten_after_a_quiet_period() -> None:
    throttle = LoginThrottle(max_failures=2, window_s=60, max_lockout_s=900, forget_after_s=3600)
    for t in (0, 1, 70):
        _fail(throttle, "ivan", "a", t)  # locked at 1, again at 70 (120 s)
    for t in (3670, 3671):  # an hour without failures: two tries again before the first (60 s) lock
        _fail(throttle, "ivan", "a", t)
    assert _refused(throttle, "ivan", "a", 3672).retry_after_s == 59


def test_an_address_spraying_many_logins_is_locked_for_all_logins() -> None:
    throttle = LoginThrottle(max_failures=5, window_s=60, address_max_failures=8)
    for i in range(8):
        _fail(throttle, f"user{i}", "6.6.6.6", i)
    refusal = _refused(throttle, "someone-else", "6.6.6.6", 8)
    assert refusal.reason is RefusalReason.ADDRESS and refusal.retry_after_s == 59
    assert throttle.check("someone-else", "10.0.0.2", 8) is None
    # A success for one's own account does not reset the address.
    assert throttle.check("user0", "6.6.6.6", 8) is not None


def test_distributed_guessing_slows_failed_addresses_but_never_a_clean_one() -> None:
    throttle = LoginThrottle(max_failures=5, window_s=60, login_max_failures=4)
    for i in range(4):
        _fail(throttle, "admin", f"6.6.6.{i}", i)  # four addresses, one wrong guess each
    refusal = _refused(throttle, "admin", "6.6.6.0", 4)  # failed here before: wait while the login is attacked
    assert refusal.reason is RefusalReason.ACCOUNT_UNDER_ATTACK and refusal.retry_after_s == 56
    assert throttle.check("admin", "10.0.0.2", 4) is None  # no failure from here: let it try
    assert throttle.check("other", "6.6.6.0", 4) is None  # other logins are not concerned
    assert throttle.check("admin", "6.6.6.0", 60) is None  # its own failure aged out


def test_memory_is_bounded_under_a_spray_of_keys() -> None:
    throttle = LoginThrottle(max_failures=5, window_s=60, max_keys=30)
    for i in range(100):
        _fail(throttle, f"user{i}", f"10.0.{i}.1", i)
        assert len(throttle._counters) <= 30 + 3
