"""Two web servers on one database (SQLite and PostgreSQL) count login failures together: guessing a password
on both is refused as soon as on one, a session opened on one is valid on the other, and a success on one clears
the pair on both."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.storage.conftest import database  # noqa: F401 - the SQLite and PostgreSQL fixture
from veche.base.auth import AuthService
from veche.domain.errors import AuthenticationFailed, RateLimited
from veche.domain.login_throttle import CounterState, LoginThrottle, Refusal, RefusalReason
from veche.storage.database import Database
from veche.storage.login_throttle import LoginThrottleStore
from veche.storage.users import SessionStore, UserStore

PASSWORD = "right horse battery"
MAX_FAILURES = 3


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def web_server(db: Database, clock: Clock) -> AuthService:
    """A web server's AuthService as the container builds it: its own throttle, the shared counters."""
    return AuthService(
        UserStore(db.sessions),
        SessionStore(db.sessions),
        clock,
        session_ttl=timedelta(hours=1),
        throttle=LoginThrottle(max_failures=MAX_FAILURES, window_s=60.0),
        shared_throttle=LoginThrottleStore(db.sessions),
    )


async def _fail(web: AuthService, login: str = "ann", client: str = "10.0.0.7") -> str:
    try:
        await web.login(login, "wrong guess", client=client, kind="web")
    except AuthenticationFailed:
        return "wrong"
    except RateLimited:
        return "throttled"
    return "logged in"


@pytest.fixture
async def webs(database: Database) -> tuple[AuthService, AuthService, Clock]:  # noqa: F811
    clock = Clock()
    one, two = web_server(database, clock), web_server(database, clock)
    await one.create_user(login="ann", display_name="Ann", email="ann@example.org", password=PASSWORD, is_admin=False)
    return one, two, clock


async def test_failures_on_both_web_servers_count_together(webs: tuple[AuthService, AuthService, Clock]) -> None:
    one, two, clock = webs
    assert [await _fail(one), await _fail(two), await _fail(one)] == ["wrong"] * MAX_FAILURES
    assert await _fail(two) == "throttled"  # web 2 saw only one failure itself
    with pytest.raises(RateLimited):
        await two.login("ann", PASSWORD, client="10.0.0.7", kind="web")  # even the right password waits
    assert await _fail(one, client="10.0.0.8") == "wrong"  # another address is not locked out
    clock.now += timedelta(seconds=61)
    assert (await two.login("ann", PASSWORD, client="10.0.0.7", kind="web")).user.login == "ann"


async def test_a_session_opened_on_one_web_server_is_valid_on_the_other(
    webs: tuple[AuthService, AuthService, Clock],
) -> None:
    one, two, _ = webs
    result = await one.login("ann", PASSWORD, client="10.0.0.7", kind="web")
    user = await two.authenticate(result.token)
    assert user is not None and user.login == "ann"
    await two.logout(result.token)
    assert await one.authenticate(result.token) is None


async def test_a_success_on_one_clears_the_failures_of_that_address_on_both(
    webs: tuple[AuthService, AuthService, Clock],
) -> None:
    one, two, _ = webs
    assert [await _fail(one), await _fail(two)] == ["wrong", "wrong"]
    await one.login("ann", PASSWORD, client="10.0.0.7", kind="web")
    assert [await _fail(two), await _fail(two)] == ["wrong", "wrong"]  # two more allowed again, on web 2 too


async def test_simultaneous_failures_on_two_web_servers_are_all_counted(
    webs: tuple[AuthService, AuthService, Clock],
) -> None:
    one, two, _ = webs
    outcomes = await asyncio.gather(_fail(one), _fail(two), _fail(one))
    assert outcomes == ["wrong"] * MAX_FAILURES
    assert [await _fail(two), await _fail(one)] == ["throttled", "throttled"]


def test_the_outcome_on_stored_counters_follows_the_rules_and_leaves_the_own_ones() -> None:
    throttle = LoginThrottle(max_failures=2, window_s=60.0)
    attempt = throttle.begin("ann", "10.0.0.7", 0.0)
    assert not isinstance(attempt, Refusal)
    stored: dict[str, CounterState] = {}
    for now in (1.0, 2.0):
        stored = throttle.with_outcome(stored, "failed", attempt, now)
    pair, by_address, by_login = throttle.stored_keys("ann", "10.0.0.7")
    assert stored[pair].failures == (1.0, 2.0) and stored[pair].locked_until == 62.0  # locked for the window
    assert len(stored[by_address].failures) == 2 and len(stored[by_login].failures) == 2
    # Its own counters changed only by its own steps: one attempt in flight, no failure yet.
    assert throttle.check("ann", "10.0.0.7", 3.0) is None
    other = LoginThrottle(max_failures=2, window_s=60.0)
    other.adopt("ann", "10.0.0.7", stored)  # what another web server sees before its attempt
    refusal = other.begin("ann", "10.0.0.7", 3.0)
    assert isinstance(refusal, Refusal) and refusal.reason is RefusalReason.ACCOUNT_FROM_ADDRESS
    assert LoginThrottle(name="meeting_pin").stored_keys("ann", "10.0.0.7") != (pair, by_address, by_login)
