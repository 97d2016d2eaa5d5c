"""Two managers on one database (SQLite and PostgreSQL): one active, the other standby; the standby takes over
when the active one dies, with a higher license epoch, and a manager cut off from the database stops serving
before the other may take over (fencing)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.storage.conftest import database  # noqa: F401 - the SQLite and PostgreSQL fixture
from tests.support.eventually import eventually
from veche.domain.clock import utc_now
from veche.manager.leadership import LOCK_NAME, ManagerLeadership
from veche.storage.database import Database
from veche.storage.leader_lock import LeaderLockStore
from veche.storage.licenses import LicenseStore

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
TTL_S = 1.6
RENEW_S = 0.2


async def test_the_lock_goes_to_one_holder_until_it_expires_or_is_released(database: Database) -> None:  # noqa: F811
    locks = LeaderLockStore(database.sessions)
    ttl = timedelta(seconds=5)
    assert await locks.acquire(LOCK_NAME, "m1", now=T0, ttl=ttl)
    assert not await locks.acquire(LOCK_NAME, "m2", now=T0 + timedelta(seconds=1), ttl=ttl)
    assert await locks.acquire(LOCK_NAME, "m1", now=T0 + timedelta(seconds=2), ttl=ttl)  # renewed
    assert not await locks.acquire(LOCK_NAME, "m2", now=T0 + timedelta(seconds=6), ttl=ttl)  # renewed until 7 s
    assert await locks.acquire(LOCK_NAME, "m2", now=T0 + timedelta(seconds=8), ttl=ttl)  # expired: taken over
    assert not await locks.acquire(LOCK_NAME, "m1", now=T0 + timedelta(seconds=9), ttl=ttl)
    holder = await locks.holder(LOCK_NAME)
    assert holder is not None and holder.holder == "m2"
    await locks.release(LOCK_NAME, "m1")  # not its lock: nothing happens
    assert not await locks.acquire(LOCK_NAME, "m1", now=T0 + timedelta(seconds=9), ttl=ttl)
    await locks.release(LOCK_NAME, "m2")
    assert await locks.acquire(LOCK_NAME, "m1", now=T0 + timedelta(seconds=9), ttl=ttl)


class Manager:
    """What a manager does when elected and deposed, as the container wires it: a new epoch, then serving."""

    def __init__(self, name: str, db: Database, events: list[str], locks: LeaderLockStore | None = None) -> None:
        self.name = name
        self.epoch = 0
        self.serving = False
        self._events = events
        self._licenses = LicenseStore(db.sessions)
        self.leadership = ManagerLeadership(
            locks or LeaderLockStore(db.sessions),
            holder=f"{name}@id-{name}",
            ttl_s=TTL_S,
            renew_s=RENEW_S,
            wall=utc_now,
            elected=self._elected,
            deposed=self._deposed,
        )

    async def _elected(self) -> int:
        self.epoch = await self._licenses.next_epoch()
        self.serving = True
        self._events.append(f"{self.name} serves")
        return self.epoch

    async def _deposed(self) -> None:
        self.serving = False
        self._events.append(f"{self.name} stopped")

    def die(self) -> None:
        """kill -9: it renews nothing more and gives nothing back (its state is gone with it)."""
        assert self.leadership._task is not None
        self.leadership._task.cancel()


async def _serving(*managers: Manager) -> list[str]:
    return [m.name for m in managers if m.serving and m.leadership.is_active()]


async def test_the_standby_takes_over_from_a_dead_manager_with_a_higher_epoch(database: Database) -> None:  # noqa: F811
    events: list[str] = []
    one, two = Manager("manager-1", database, events), Manager("manager-2", database, events)
    await one.leadership.start()
    await two.leadership.start()
    try:
        assert await _serving(one, two) == ["manager-1"]
        first_epoch = one.epoch
        one.die()
        await eventually(lambda: _serving(one, two), lambda s: "manager-2" in s, timeout=TTL_S * 4, what="take-over")
        assert two.epoch > first_epoch
        takeovers = await LeaderLockStore(database.sessions).takeovers(LOCK_NAME)
        assert (takeovers[0].holder, takeovers[0].previous, takeovers[0].epoch) == ("manager-2", "manager-1", two.epoch)
        assert events == ["manager-1 serves", "manager-2 serves"]  # the dead one never stopped: it was killed
    finally:
        await two.leadership.stop()


async def test_a_clean_stop_hands_over_without_waiting_for_the_expiry(database: Database) -> None:  # noqa: F811
    events: list[str] = []
    one, two = Manager("manager-1", database, events), Manager("manager-2", database, events)
    await one.leadership.start()
    await two.leadership.start()
    try:
        await one.leadership.stop()
        assert not one.serving
        await eventually(lambda: _serving(one, two), lambda s: s == ["manager-2"], what="hand-over")
        assert events == ["manager-1 serves", "manager-1 stopped", "manager-2 serves"]
    finally:
        await two.leadership.stop()


class CutOff(LeaderLockStore):
    """The database as seen by a manager whose network to it broke: every statement hangs."""

    def __init__(self, db: Database) -> None:
        super().__init__(db.sessions)
        self.cut = False

    async def acquire(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        if self.cut:
            await asyncio.Event().wait()
        return await super().acquire(name, holder, now=now, ttl=ttl)


async def test_a_manager_cut_off_from_the_database_stops_before_the_other_takes_over(
    database: Database,  # noqa: F811
) -> None:
    events: list[str] = []
    locks = CutOff(database)
    one, two = Manager("manager-1", database, events, locks), Manager("manager-2", database, events)
    await one.leadership.start()
    await two.leadership.start()
    try:
        locks.cut = True  # manager-1 is alive but can renew nothing
        await eventually(lambda: _serving(one, two), lambda s: s == ["manager-2"], timeout=TTL_S * 4, what="fence")
        # Never two at once: manager-1 had stopped before manager-2 started serving.
        assert events == ["manager-1 serves", "manager-1 stopped", "manager-2 serves"]
    finally:
        await one.leadership.stop()
        await two.leadership.stop()


def test_renewing_less_than_twice_per_ttl_is_refused() -> None:
    async def nothing() -> None: ...

    async def epoch() -> int:
        return 1

    with pytest.raises(ValueError, match="twice per ttl"):
        ManagerLeadership(
            LeaderLockStore(None),  # type: ignore[arg-type]
            holder="m",
            ttl_s=2.0,
            renew_s=1.0,
            wall=utc_now,
            elected=epoch,
            deposed=nothing,
        )
