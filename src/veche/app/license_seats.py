"""An app server's license seats: admission within the leases it holds from the manager's pool.

Leases are renewed every second (with the heartbeats) and at once when one runs low; one request is in flight at a
time, so grants are applied in the order the manager made them. A join that finds no slot waits for one round trip
to the manager before it is refused. Cut off from the manager, the server keeps its calls for the grace period,
admits only within its part of its region's reservation, and after the grace ends the calls beyond that part.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from veche.app.admission import Admission, Seat, pools_for
from veche.bus.base import Bus, BusError
from veche.bus.lease_messages import LeaseGrants, LeaseRequest, LeaseReturn, PoolAsk
from veche.domain.leases import Grant, LeaseTerms, SeatLease
from veche.domain.license_pools import POOL_NOUNS, Pool
from veche.domain.room import ParticipantKind
from veche.domain.room_errors import LicenseExhausted

__all__ = ["LicenseExpired", "LicenseSeats"]

logger = logging.getLogger(__name__)

RENEW_EVERY_S = 1.0
REQUEST_TIMEOUT_S = 1.0
# A join that finds the pool nearly used up asks again every SCARCE_RETRY_S, for at most SCARCE_WAIT_S: other
# servers return the slots they hold in hand at their next renewal.
SCARCE_WAIT_S = 2.5
SCARCE_RETRY_S = 0.3

# Ends ``count`` connections holding ``pool`` here (the newest first): the grace after losing the manager is over.
EndExcess = Callable[[Pool, int], Awaitable[None]]


class LicenseExpired(LicenseExhausted):
    def __init__(self, pool: Pool, organisation: str, expired_on: str) -> None:
        super().__init__(pool, 0)
        self.message = (
            f"The license of {organisation or 'this installation'} expired on {expired_on}: no new "
            f"{POOL_NOUNS[pool]} are admitted. Ask your administrator to install a new one."
        )
        self.args = (self.message,)


class LicenseSeats(Admission):
    def __init__(
        self,
        bus: Bus,
        *,
        server_id: str,
        region: str,
        terms: LeaseTerms,
        clock_s: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bus = bus
        self._server_id = server_id
        self.region = region
        self._clock_s = clock_s
        self.leases = {pool: SeatLease(pool, terms) for pool in Pool}
        self._online: dict[str, int] = {}  # user identity -> his connections here
        self._seq = 0
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._expired_on = ""
        self._organisation = ""
        self.end_excess: EndExcess | None = None
        self.manager_reachable = False
        self._give_back_pending = False
        self._soon: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.renew()
        self._task = asyncio.create_task(self._renew_loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        try:
            await self._bus.publish(LeaseReturn(server_id=self._server_id))
        except BusError as e:
            logger.info("could not give the leases back (the manager will after the grace): %s", e)

    # -- admission ------------------------------------------------------------------------------------------

    async def admit(self, identity: str, kind: ParticipantKind, guest: bool) -> Seat:
        pools = pools_for(kind, guest)
        user = identity if identity.startswith("user:") else None
        deadline: float | None = None
        while True:
            first = user is not None and self._online.get(user, 0) == 0
            wanted = [*pools, *([Pool.ONLINE_USERS] if first else [])]
            now = self._clock_s()
            short = [pool for pool in wanted if not self.leases[pool].can_admit(now)]
            if not short and not self._expired_on:
                for pool in wanted:
                    self.leases[pool].admit(now)
                if user is not None:
                    self._online[user] = self._online.get(user, 0) + 1
                if any(self.leases[pool].running_low(now) for pool in wanted):
                    self._renew_soon()
                return Seat(lambda: self._release(pools, user))
            if self._expired_on:
                break
            if deadline is None:
                deadline = now + SCARCE_WAIT_S
            elif now >= deadline or not any(self.leases[p].scarce for p in short):
                break
            else:
                # The pool is nearly used up and other servers may still hold a slot in hand: they give it
                # back at their next renewal (within a second or so). Wait for that rather than refuse.
                await asyncio.sleep(SCARCE_RETRY_S)
            # A round trip for this join's slot before saying no; the wait for other joins' requests counts too.
            left = max(0.05, deadline - self._clock_s())
            try:
                await asyncio.wait_for(self.renew(joining=set(short)), left)
            except TimeoutError:
                pass
        pool = short[0] if short else wanted[0]
        self.leases[pool].refusals += 1
        if self._expired_on:
            raise LicenseExpired(pool, self._organisation, self._expired_on)
        raise LicenseExhausted(pool, self.leases[pool].total, unreachable=not self.manager_reachable)

    def _release(self, pools: list[Pool], user: str | None) -> None:
        for pool in pools:
            self.leases[pool].release()
        if user is not None:
            count = self._online.get(user, 0) - 1
            if count <= 0:
                self._online.pop(user, None)
                self.leases[Pool.ONLINE_USERS].release()
            else:
                self._online[user] = count

    # -- leases ---------------------------------------------------------------------------------------------

    async def renew(self, joining: set[Pool] | None = None) -> None:
        """Ask the manager for this server's leases now (one request at a time), with a slot more in each of the
        ``joining`` pools for a join that waits for it."""
        async with self._lock:
            self._seq += 1
            sent_at = self._clock_s()
            asks = [
                PoolAsk(
                    pool=pool.value,
                    wanted=lease.ask(1 if joining and pool in joining else 0),
                    in_use=lease.in_use,
                    refusals=lease.refusals,
                )
                for pool, lease in self.leases.items()
            ]
            request = LeaseRequest(server_id=self._server_id, region=self.region, seq=self._seq, asks=asks)
            try:
                reply = await self._bus.request(request, timeout_s=REQUEST_TIMEOUT_S)
            except BusError as e:
                if self.manager_reachable:
                    logger.warning("license manager unreachable (%s): running calls continue for the grace", e)
                self.manager_reachable = False
                return
            self.manager_reachable = True
            self._apply(reply, sent_at, giving_back=not joining)
        if self._give_back_pending:
            self._give_back_pending = False
            await self.renew()

    def _apply(self, reply: LeaseGrants, sent_at: float, *, giving_back: bool) -> None:
        self._expired_on, self._organisation = reply.expired_on, reply.organisation
        for g in reply.grants:
            try:
                pool = Pool(g.pool)
            except ValueError:
                continue
            grant = Grant(pool, g.slots, g.floor, g.ttl_s, reply.epoch, g.total, g.scarce)
            lease = self.leases[pool]
            if not lease.apply(grant, sent_at):
                logger.warning("ignored a license grant of epoch %d (seen %d)", reply.epoch, lease.epoch)
            elif giving_back and lease.scarce and lease.slots > lease.in_use:
                # The pool just became short: give the slots in hand back now, not at the next heartbeat, so a
                # join on another server finds them.
                self._give_back_pending = True

    def _renew_soon(self) -> None:
        """One renewal at a time from admissions: those made before it runs are in the request it sends."""
        if self._soon is None or self._soon.done():
            self._soon = asyncio.create_task(self.renew())

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY_S)
            try:
                await self.renew()
                await self._enforce_grace()
            except Exception:
                logger.exception("license lease renewal failed")

    async def _enforce_grace(self) -> None:
        now = self._clock_s()
        for pool, lease in self.leases.items():
            excess = lease.over_grace(now)
            if excess and self.end_excess is not None:
                logger.error(
                    "no license manager for longer than the grace: ending %d %s beyond this server's reservation",
                    excess,
                    POOL_NOUNS[pool],
                )
                await self.end_excess(pool, excess)
