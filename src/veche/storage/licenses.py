"""Persistence of the license pool: leases (written ahead of grants), the manager's epoch, and usage samples."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.domain.leases import HeldLease
from veche.domain.license_pools import Pool
from veche.storage.cluster_tables import LicenseLeaseRow, LicenseStateRow, LicenseUsageRow

__all__ = ["LicenseStore", "UsageSample"]


class UsageSample:
    __slots__ = ("at", "pool", "in_use", "leased", "refusals")

    def __init__(self, at: datetime, pool: Pool, in_use: int, leased: int, refusals: int) -> None:
        self.at, self.pool, self.in_use, self.leased, self.refusals = at, pool, in_use, leased, refusals


class LicenseStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def next_epoch(self) -> int:
        """One more than any manager before (a manager starting, or taking over, fences off older ones)."""
        async with self._sessions.begin() as session:
            row = await session.get(LicenseStateRow, 1, with_for_update=True)
            if row is None:
                row = LicenseStateRow(id=1, epoch=1)
                session.add(row)
            else:
                row.epoch += 1
            await session.flush()
            return row.epoch

    async def leases(self) -> dict[Pool, list[HeldLease]]:
        async with self._sessions() as session:
            found: dict[Pool, list[HeldLease]] = {}
            for row in await session.scalars(select(LicenseLeaseRow)):
                try:
                    pool = Pool(row.pool)
                except ValueError:
                    continue
                found.setdefault(pool, []).append(HeldLease(row.server_id, row.region, row.slots, row.floor))
            return found

    async def save(self, changed: Iterable[tuple[Pool, HeldLease]], dropped: Iterable[tuple[Pool, str]] = ()) -> None:
        async with self._sessions.begin() as session:
            for pool, server_id in dropped:
                await session.execute(
                    delete(LicenseLeaseRow).where(LicenseLeaseRow.server_id == server_id, LicenseLeaseRow.pool == pool)
                )
            for pool, lease in changed:
                row = await session.get(LicenseLeaseRow, (lease.server_id, pool.value))
                if row is None:
                    session.add(
                        LicenseLeaseRow(
                            server_id=lease.server_id,
                            pool=pool.value,
                            region=lease.region,
                            slots=lease.slots,
                            floor=lease.floor,
                        )
                    )
                else:
                    row.region, row.slots, row.floor = lease.region, lease.slots, lease.floor

    async def add_samples(self, samples: Iterable[UsageSample], *, keep_since: datetime) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(LicenseUsageRow).where(LicenseUsageRow.at < keep_since))
            for s in samples:
                session.add(
                    LicenseUsageRow(at=s.at, pool=s.pool.value, in_use=s.in_use, leased=s.leased, refusals=s.refusals)
                )

    async def samples(self, since: datetime) -> list[UsageSample]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(LicenseUsageRow).where(LicenseUsageRow.at >= since).order_by(LicenseUsageRow.at)
            )
            return [UsageSample(r.at, Pool(r.pool), r.in_use, r.leased, r.refusals) for r in rows]
