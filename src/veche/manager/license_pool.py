"""Manager role: the cluster's license pool — the installed license, the leases of every app server, their use.

The lease maths is :mod:`veche.domain.leases`; this service feeds it requests from the bus, writes a lease that
grows to the database before answering (so a restarted manager never counts less than was granted), re-reads the
license file when it changes, and samples use every minute for the License page.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from veche.bus.base import Bus
from veche.bus.lease_messages import (
    GetLicenseReport,
    InstallLicense,
    LeaseGrants,
    LeaseRequest,
    LeaseReturn,
    LicenseReport,
    ManagerTakeover,
    PoolFigures,
    PoolGrant,
    UsagePoint,
)
from veche.domain.leases import Grant, LeaseLedger, LeaseTerms
from veche.domain.license import License, LicenseError, LicenseRefused
from veche.domain.license_pools import Pool
from veche.manager.license_file import InstalledLicense
from veche.storage.licenses import LicenseStore, UsageSample

__all__ = ["LicensePool", "PoolReport"]

logger = logging.getLogger(__name__)

SAMPLE_EVERY_S = 60.0
RELOAD_EVERY_S = 2.0
USAGE_KEPT = timedelta(days=2)


@dataclass(frozen=True)
class PoolReport:
    pool: Pool
    total: int | None
    in_use: int
    leased: dict[str, int]  # server id -> slots counted for it (its lease, or its floor after its grace)
    in_use_by_server: dict[str, int]
    by_region: dict[str, int]  # region -> connections in use
    free: int | None
    refusals: int
    silent: list[str]  # servers whose lease ran out unrenewed (held until their grace is over)


class LicensePool:
    def __init__(
        self,
        bus: Bus,
        store: LicenseStore,
        installed: InstalledLicense,
        *,
        terms: LeaseTerms,
        reservations: dict[str, dict[Pool, int]],
        clock_s: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime],
        today: Callable[[], date],
        manager: str = "",
        takeovers: Callable[[], Awaitable[list[ManagerTakeover]]] | None = None,
    ) -> None:
        """``manager``, ``takeovers``: this manager's name and the latest take-overs, for the License page."""
        self._bus = bus
        self._store = store
        self._installed = installed
        self._terms = terms
        self._reservations = reservations
        self._clock_s = clock_s
        self._wall = wall
        self._today = today
        self._manager = manager
        self._takeovers = takeovers
        self.epoch = 0
        self.license: License | None = None
        self.license_problem = ""  # why the installed file is not used (it no longer verifies)
        self._ledgers: dict[Pool, LeaseLedger] = {}
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._license_mtime: float | None = None
        self._started = False
        self._stored: dict[tuple[Pool, str], tuple[int, int, str]] = {}  # what license_leases holds
        bus.handle(LeaseRequest, self._on_request)
        bus.subscribe(LeaseReturn, self._on_return)
        bus.handle(GetLicenseReport, self._on_report)
        bus.handle(InstallLicense, self._on_install)

    # -- lifecycle ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._read_license()
        self.epoch = await self._store.next_epoch()
        stored = await self._store.leases()
        self._stored = {
            (pool, lease.server_id): (lease.slots, lease.floor, lease.region)
            for pool, leases in stored.items()
            for lease in leases
        }
        now = self._clock_s()
        for pool in Pool:
            self._ledgers[pool] = LeaseLedger.restored(
                pool, self._total(pool), self._terms, self.epoch, stored.get(pool, []), now, self._reserved(pool)
            )
        held = {pool.value: ledger.held(now) for pool, ledger in self._ledgers.items() if ledger.leases}
        logger.info("license pool: epoch %d, %s; holding stored leases %s", self.epoch, self.describe(), held or "none")
        self._started = True
        self._tasks = [asyncio.create_task(self._reload_loop()), asyncio.create_task(self._sample_loop())]

    async def stop(self) -> None:
        """Stop granting at once (a manager deposed by its leader lock, or stopping); start() may follow again."""
        self._started = False
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    def describe(self) -> str:
        if self.license is None:
            return "no license installed (every pool unlimited, counted)"
        pools = ", ".join(
            f"{p.value} {self.license.total(p) if self.license.total(p) is not None else 'unlimited'}" for p in Pool
        )
        return f"license of {self.license.organisation} until {self.license.expires.isoformat()} ({pools})"

    # -- the bus --------------------------------------------------------------------------------------------

    async def _on_request(self, message: LeaseRequest) -> LeaseGrants | None:
        if not self._started:
            return None  # not ready: another manager, or the server asks again
        async with self._lock:
            now = self._clock_s()
            grants: list[Grant] = []
            grown = []
            for ask in message.asks:
                try:
                    pool = Pool(ask.pool)
                except ValueError:
                    continue
                ledger = self._ledgers[pool]
                grant = ledger.request(
                    message.server_id,
                    message.region,
                    ask.wanted,
                    ask.in_use,
                    now,
                    seq=message.seq,
                    refusals=ask.refusals,
                )
                after = ledger.leases[message.server_id]
                stored = self._stored.get((pool, message.server_id))
                # Only a lease that grows beyond what is stored must be written before the answer (a restarted
                # manager then counts at least it); a smaller one left stored larger errs on the safe side.
                if stored is None or after.slots > stored[0] or after.floor > stored[1] or after.region != stored[2]:
                    grown.append((pool, after))
                grants.append(grant)
            if grown:
                await self._store.save(grown)
                for pool, lease in grown:
                    self._stored[(pool, lease.server_id)] = (lease.slots, lease.floor, lease.region)
        expired = self.license is not None and self.license.expired(self._today())
        return LeaseGrants(
            epoch=self.epoch,
            grants=[
                PoolGrant(
                    pool=g.pool.value, slots=g.slots, floor=g.floor, ttl_s=g.ttl_s, total=g.total, scarce=g.scarce
                )
                for g in grants
            ],
            organisation=self.license.organisation if self.license else "",
            expired_on=self.license.expires.isoformat() if self.license and expired else "",
        )

    async def _on_return(self, message: LeaseReturn) -> None:
        if not self._started:
            return  # a standby manager: the active one forgets the lease
        async with self._lock:
            for pool, ledger in self._ledgers.items():
                ledger.release(message.server_id)
                self._stored.pop((pool, message.server_id), None)
            await self._store.save([], [(pool, message.server_id) for pool in Pool])
        logger.info("license pool: %s stopped and gave its leases back", message.server_id)

    # -- what admins see ------------------------------------------------------------------------------------

    def report(self) -> list[PoolReport]:
        now = self._clock_s()
        reports = []
        for pool in Pool:
            ledger = self._ledgers.get(pool)
            if ledger is None:
                reports.append(PoolReport(pool, self._total(pool), 0, {}, {}, {}, self._total(pool), 0, []))
                continue
            by_region: dict[str, int] = {}
            for lease in ledger.leases.values():
                by_region[lease.region] = by_region.get(lease.region, 0) + lease.in_use
            reports.append(
                PoolReport(
                    pool=pool,
                    total=ledger.total,
                    in_use=ledger.in_use(),
                    leased={s: ledger.hold_of(lease, now) for s, lease in sorted(ledger.leases.items())},
                    in_use_by_server={s: lease.in_use for s, lease in sorted(ledger.leases.items())},
                    by_region=by_region,
                    free=ledger.free(now),
                    refusals=sum(lease.refusals for lease in ledger.leases.values()),
                    silent=ledger.silent(now),
                )
            )
        return reports

    def in_use(self) -> dict[str, int]:
        """Connections in use per pool, as the servers last reported (the statistics' license figures)."""
        return {pool.value: ledger.in_use() for pool, ledger in self._ledgers.items()}

    def refusals_of(self, server_id: str) -> int:
        """Connections the server refused for want of slots since it started, all pools (as it last reported)."""
        return sum(
            lease.refusals for ledger in self._ledgers.values() if (lease := ledger.leases.get(server_id)) is not None
        )

    async def usage_since(self, since: datetime) -> list[UsageSample]:
        return await self._store.samples(since)

    async def _on_report(self, message: GetLicenseReport) -> LicenseReport | None:
        if not self._started:
            return None
        return await self.full_report(hours=message.usage_hours)

    async def _on_install(self, message: InstallLicense) -> LicenseReport | None:
        if not self._started:
            return None
        try:
            installed = self._installed.install(message.text)
        except LicenseError as e:
            logger.warning("license upload refused: %s", e.message)
            return (await self.full_report(hours=0)).model_copy(update={"refused": e.message})
        logger.info("license of %s installed from the console (%s)", installed.organisation, installed.license_id)
        self.reload()
        return await self.full_report(hours=24)

    async def full_report(self, *, hours: int) -> LicenseReport:
        samples = await self.usage_since(self._wall() - timedelta(hours=hours)) if hours > 0 else []
        lic = self.license
        return LicenseReport(
            organisation=lic.organisation if lic else None,
            expires=lic.expires.isoformat() if lic else None,
            license_id=lic.license_id if lic else None,
            expired=bool(lic and lic.expired(self._today())),
            problem=self.license_problem,
            epoch=self.epoch,
            pools={
                r.pool.value: PoolFigures(
                    total=r.total,
                    in_use=r.in_use,
                    leased=r.leased,
                    in_use_by_server=r.in_use_by_server,
                    by_region=r.by_region,
                    free=r.free,
                    refusals=r.refusals,
                    silent=r.silent,
                )
                for r in self.report()
            },
            usage=[
                UsagePoint(
                    at=s.at.isoformat(), pool=s.pool.value, in_use=s.in_use, leased=s.leased, refusals=s.refusals
                )
                for s in samples
            ],
            manager=self._manager,
            takeovers=await self._takeovers() if self._takeovers is not None else [],
        )

    def reload(self) -> None:
        """Read the license file again now (after `veche license install` or an upload in the console)."""
        self._license_mtime = None
        self._read_license()

    # -- internals ------------------------------------------------------------------------------------------

    def _total(self, pool: Pool) -> int | None:
        if self.license is None:
            return None
        if self.license.expired(self._today()):
            return 0
        return self.license.total(pool)

    def _reserved(self, pool: Pool) -> dict[str, int]:
        return {region: pools[pool] for region, pools in self._reservations.items() if pools.get(pool)}

    def _read_license(self) -> None:
        path = self._installed.license_path
        mtime = path.stat().st_mtime if path.exists() else None
        if mtime == self._license_mtime and self._license_mtime is not None:
            return
        self._license_mtime = mtime
        try:
            found = self._installed.current()
        except LicenseRefused as e:
            # Changed on disk into something that does not verify: keep what was in force.
            self.license_problem = e.message
            logger.error("the installed license file is refused (%s); the previous license stays in force", e.message)
            return
        self.license_problem = ""
        if found != self.license:
            self.license = found
            for pool, ledger in self._ledgers.items():
                ledger.total = self._total(pool)
            if self._ledgers:
                logger.info("license pool: now %s", self.describe())

    async def _reload_loop(self) -> None:
        while True:
            await asyncio.sleep(RELOAD_EVERY_S)
            try:
                self._read_license()
                # An expiry date passing changes the totals without the file changing.
                for pool, ledger in self._ledgers.items():
                    ledger.total = self._total(pool)
                    ledger.expire(self._clock_s())
            except Exception:
                logger.exception("license pool: reading the license failed")

    async def _sample_loop(self) -> None:
        while True:
            await asyncio.sleep(SAMPLE_EVERY_S)
            at = self._wall()
            samples = [UsageSample(at, r.pool, r.in_use, sum(r.leased.values()), r.refusals) for r in self.report()]
            try:
                await self._store.add_samples(samples, keep_since=at - USAGE_KEPT)
            except Exception:
                logger.exception("license pool: storing usage samples failed")
