"""Login throttling. Pure; time passed in (seconds).

Rules (``n`` = ``max_failures``, all counts over a sliding ``window_s``):

- An attempt is reserved (``begin``) before the password is checked and counts as a failure while it is in flight,
  so concurrent attempts cannot get past a limit; a success or an attempt that checked nothing releases it.
- Per (login, address): after ``n`` failures that login is refused from that address. Per address: after
  ``address_max_failures`` failures over all logins (spraying) the address is refused. Either lock lasts
  ``window_s`` the first time and doubles with every further failure (one attempt at a time between locks), up to
  ``max_lockout_s``; a key forgets its back-off after ``forget_after_s`` without a failure. A success clears the
  (login, address) pair only: logging in to one's own account does not reset an address that sprays others.
- Per login, over all addresses: once it has ``login_max_failures`` failures in the window (distributed guessing),
  addresses that themselves failed for that login in the window are refused until their failures age out or the
  login quiets down. An address with no recent failure for the login is never refused by this rule, so nobody can
  lock a user out from elsewhere.

Shared by several web servers: each keeps its own throttle (its attempts in flight), and the failures and locks of
the three counters an attempt touches are kept in the database (storage/login_throttle.py). Before an attempt a
web server adopts the stored counters (:meth:`LoginThrottle.adopt`); its outcome is applied to the stored ones
under a row lock (:meth:`LoginThrottle.with_outcome`, pure). Attempts in flight are counted per web server only.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Attempt", "CounterState", "LoginThrottle", "Outcome", "Refusal", "RefusalReason"]

Outcome = Literal["failed", "succeeded", "released"]

# The wait reported when only attempts still being checked block a new one.
_IN_FLIGHT_WAIT_S = 1.0


class RefusalReason(enum.Enum):
    ACCOUNT_FROM_ADDRESS = "account_from_address"  # this login failed too often from this address
    ADDRESS = "address"  # this address failed too often, over all logins
    ACCOUNT_UNDER_ATTACK = "account_under_attack"  # many addresses fail for this login, and this one did too
    IN_FLIGHT = "in_flight"  # too many attempts from this address are being checked right now


@dataclass(frozen=True)
class Attempt:
    """A reserved attempt; hand it back to exactly one of failed / succeeded / released."""

    login: str
    address: str


@dataclass(frozen=True)
class Refusal:
    retry_after_s: float
    reason: RefusalReason

    @property
    def retry_after_whole_s(self) -> int:
        return max(1, math.ceil(self.retry_after_s))


@dataclass
class _Counter:
    failures: deque[float] = field(default_factory=deque)
    in_flight: int = 0
    strikes: int = 0  # locks so far; each further failure locks again for twice as long
    locked_until: float = 0.0
    last_failure: float = -math.inf


_Key = tuple[str, ...]


@dataclass(frozen=True)
class CounterState:
    """What a counter holds that every web server must see: its failures in the window and its lock."""

    failures: tuple[float, ...] = ()
    strikes: int = 0
    locked_until: float = 0.0
    last_failure: float = -math.inf

    @property
    def idle(self) -> bool:
        return not self.failures and not self.strikes and self.locked_until == 0.0


def _stored_key(name: str, key: _Key) -> str:
    return hashlib.sha256("\x1f".join((name, *key)).encode()).hexdigest()


@dataclass
class LoginThrottle:
    max_failures: int = 5
    window_s: float = 60.0
    address_max_failures: int | None = None  # default: 4 × max_failures (addresses may be shared, NAT)
    login_max_failures: int | None = None  # default: 4 × max_failures
    max_lockout_s: float = 900.0
    forget_after_s: float = 3600.0
    max_keys: int = 100_000
    name: str = "login"  # what it throttles, naming its stored counters apart from other throttles'
    _counters: dict[_Key, _Counter] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.address_max_failures is None:
            self.address_max_failures = 4 * self.max_failures
        if self.login_max_failures is None:
            self.login_max_failures = 4 * self.max_failures

    # -- the public steps ------------------------------------------------------------------------------------------

    def check(self, login: str, address: str, now_s: float) -> Refusal | None:
        """Why an attempt would be refused now, or None if it would be allowed (reserves nothing)."""
        pair = self._get(("pair", login, address), now_s)
        by_address = self._get(("address", address), now_s)
        by_login = self._get(("login", login), now_s)
        refusals = [
            r
            for r in (
                self._locked(pair, self.max_failures, now_s, RefusalReason.ACCOUNT_FROM_ADDRESS),
                self._locked(by_address, self._address_limit, now_s, RefusalReason.ADDRESS),
                self._under_attack(by_login, pair, now_s),
            )
            if r is not None
        ]
        return max(refusals, key=lambda r: r.retry_after_s) if refusals else None

    def begin(self, login: str, address: str, now_s: float) -> Attempt | Refusal:
        """Reserve an attempt before checking the password, or say why and how long to wait."""
        if len(self._counters) > self.max_keys:
            self._sweep(now_s)
        refusal = self.check(login, address, now_s)
        if refusal is not None:
            return refusal
        for key in self._keys(login, address):
            self._counters.setdefault(key, _Counter()).in_flight += 1
        return Attempt(login, address)

    def failed(self, attempt: Attempt, now_s: float) -> None:
        """The password was wrong (or the check was abandoned half-way): count the failure, lock if over a limit."""
        pair_key, address_key, login_key = self._keys(attempt.login, attempt.address)
        for key, limit in ((pair_key, self.max_failures), (address_key, self._address_limit)):
            counter = self._done(key, now_s)
            counter.failures.append(now_s)
            counter.last_failure = now_s
            if counter.strikes > 0 or len(counter.failures) >= limit:
                counter.strikes += 1
                lock = min(self.window_s * 2.0 ** (counter.strikes - 1), self.max_lockout_s)
                counter.locked_until = max(counter.locked_until, now_s + lock)
        by_login = self._done(login_key, now_s)
        by_login.failures.append(now_s)
        by_login.last_failure = now_s

    def succeeded(self, attempt: Attempt, now_s: float) -> None:
        """The password was right: clear the (login, address) pair; the address and login counts stay."""
        pair_key, address_key, login_key = self._keys(attempt.login, attempt.address)
        pair = self._done(pair_key, now_s)
        if pair.in_flight == 0:
            del self._counters[pair_key]
        else:
            self._counters[pair_key] = _Counter(in_flight=pair.in_flight)
        self._done(address_key, now_s)
        self._done(login_key, now_s)

    def released(self, attempt: Attempt, now_s: float) -> None:
        """Nothing was learnt about the password (a store or directory error, a disabled account)."""
        for key in self._keys(attempt.login, attempt.address):
            self._done(key, now_s)

    # -- shared by several web servers ----------------------------------------------------------------------------

    def stored_keys(self, login: str, address: str) -> tuple[str, str, str]:
        """The stored names of an attempt's three counters: (login, address), address, login (hashed: a login may
        be long, and the names need not be read)."""
        pair, by_address, by_login = self._keys(login, address)
        return _stored_key(self.name, pair), _stored_key(self.name, by_address), _stored_key(self.name, by_login)

    def adopt(self, login: str, address: str, stored: Mapping[str, CounterState]) -> None:
        """Take the stored counters of an attempt's keys (missing: none), keeping this server's attempts in flight."""
        for key, name in zip(self._keys(login, address), self.stored_keys(login, address), strict=True):
            state = stored.get(name, CounterState())
            counter = self._counters.get(key)
            in_flight = counter.in_flight if counter is not None else 0
            if state.idle and in_flight == 0:
                self._counters.pop(key, None)
                continue
            self._counters[key] = _Counter(
                failures=deque(state.failures),
                in_flight=in_flight,
                strikes=state.strikes,
                locked_until=state.locked_until,
                last_failure=state.last_failure,
            )

    def with_outcome(
        self, stored: Mapping[str, CounterState], outcome: Outcome, attempt: Attempt, now_s: float
    ) -> dict[str, CounterState]:
        """The stored counters of ``attempt`` after its outcome, by this throttle's rules (pure: none of this
        throttle's own counters are read or changed)."""
        scratch = dataclasses.replace(self, _counters={})
        scratch.adopt(attempt.login, attempt.address, stored)
        getattr(scratch, outcome)(attempt, now_s)
        after = {}
        for key, name in zip(
            self._keys(attempt.login, attempt.address), self.stored_keys(attempt.login, attempt.address), strict=True
        ):
            counter = scratch._counters.get(key)
            after[name] = (
                CounterState(tuple(counter.failures), counter.strikes, counter.locked_until, counter.last_failure)
                if counter is not None
                else CounterState()
            )
        return after

    @property
    def idle_after_s(self) -> float:
        """A counter not changed for this long holds nothing any more (its failures, lock and back-off are over)."""
        return max(self.window_s, self.max_lockout_s, self.forget_after_s)

    # -- rules -----------------------------------------------------------------------------------------------------

    @property
    def _address_limit(self) -> int:
        assert self.address_max_failures is not None
        return self.address_max_failures

    @property
    def _login_limit(self) -> int:
        assert self.login_max_failures is not None
        return self.login_max_failures

    def _locked(self, counter: _Counter, limit: int, now_s: float, reason: RefusalReason) -> Refusal | None:
        if now_s < counter.locked_until:
            return Refusal(counter.locked_until - now_s, reason)
        # Between locks only one attempt at a time: its failure locks again.
        allowed = 1 if counter.strikes > 0 else limit
        if len(counter.failures) >= limit:
            return Refusal(counter.failures[-limit] + self.window_s - now_s, reason)
        if len(counter.failures) + counter.in_flight >= allowed:
            return Refusal(_IN_FLIGHT_WAIT_S, RefusalReason.IN_FLIGHT)
        return None

    def _under_attack(self, by_login: _Counter, pair: _Counter, now_s: float) -> Refusal | None:
        limit = self._login_limit
        count = len(by_login.failures) + by_login.in_flight
        if count < limit or (not pair.failures and pair.in_flight == 0):
            return None  # not under attack, or this address did not fail for this login: let it try
        pair_clean = pair.failures[-1] + self.window_s - now_s if pair.failures else _IN_FLIGHT_WAIT_S
        if len(by_login.failures) >= limit:
            login_quiet = by_login.failures[len(by_login.failures) - limit] + self.window_s - now_s
        else:
            login_quiet = _IN_FLIGHT_WAIT_S
        return Refusal(max(min(pair_clean, login_quiet), _IN_FLIGHT_WAIT_S), RefusalReason.ACCOUNT_UNDER_ATTACK)

    # -- bookkeeping -----------------------------------------------------------------------------------------------

    @staticmethod
    def _keys(login: str, address: str) -> tuple[_Key, _Key, _Key]:
        return ("pair", login, address), ("address", address), ("login", login)

    def _get(self, key: _Key, now_s: float) -> _Counter:
        """The counter with failures older than the window dropped (an empty one if there is none; not stored)."""
        counter = self._counters.get(key)
        if counter is None:
            return _Counter()
        self._prune(counter, now_s)
        return counter

    def _done(self, key: _Key, now_s: float) -> _Counter:
        counter = self._counters.setdefault(key, _Counter())  # it may have been swept meanwhile
        counter.in_flight = max(0, counter.in_flight - 1)
        self._prune(counter, now_s)
        return counter

    def _prune(self, counter: _Counter, now_s: float) -> None:
        while counter.failures and counter.failures[0] <= now_s - self.window_s:
            counter.failures.popleft()
        if counter.strikes and now_s >= counter.locked_until and now_s - counter.last_failure >= self.forget_after_s:
            counter.strikes = 0

    def _idle(self, counter: _Counter, now_s: float) -> bool:
        self._prune(counter, now_s)
        return not counter.failures and not counter.in_flight and not counter.strikes and now_s >= counter.locked_until

    def _sweep(self, now_s: float) -> None:
        """Bound memory under a spray of distinct logins and addresses: drop idle keys, and if that is not
        enough, everything not in flight."""
        self._counters = {k: c for k, c in self._counters.items() if not self._idle(c, now_s)}
        if len(self._counters) > self.max_keys:
            self._counters = {k: c for k, c in self._counters.items() if c.in_flight}
