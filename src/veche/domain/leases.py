"""License leases: the manager lends blocks of a pool's slots to app servers; a server admits only within its lease.

Pure rules over times passed in (monotonic seconds of whoever calls), so every scenario is a literal test.

The invariant, under any fault: the connections admitted on all servers never exceed a pool. It holds because
- a server admits only while its lease is unexpired, and its lease runs out ``ttl_s`` after it *sent* the request
  (never later than the manager believes it does);
- the manager keeps counting a silent server's whole lease for ``ttl_s + grace_s`` after it last heard from it,
  and that server ends its calls beyond its floor when its own ``ttl_s + grace_s`` is over (earlier);
- a region's reservation for isolated operation is split into floors; a server always holds at least its floor
  (live, silent or gone), and may admit within it while it cannot reach the manager;
- a manager restarted from its database counts every stored lease as if renewed at the moment it started, and
  a lease is stored before a grant that grows it is sent;
- grants carry the manager's epoch: a server ignores grants of an older epoch than one it has seen (a manager
  that was paused and came back after a standby took over).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from veche.domain.license_pools import Pool

__all__ = ["Grant", "HeldLease", "LeaseLedger", "LeaseTerms", "SeatLease"]


@dataclass(frozen=True)
class LeaseTerms:
    ttl_s: float = 10.0  # a lease lives this long after its request was sent; renewed every heartbeat (1 s)
    grace_s: float = 900.0  # a server cut off keeps its running calls this long after its lease ran out
    block: int = 8  # slots a server keeps in hand beyond those in use, so most joins need no round trip


@dataclass(frozen=True)
class Grant:
    """The manager's answer for one pool: the server may have up to ``slots`` connections admitted."""

    pool: Pool
    slots: int
    floor: int  # of its region's reservation: what it may admit while it cannot reach the manager
    ttl_s: float
    epoch: int
    total: int | None  # the pool's size (None: unlimited)
    scarce: bool = False  # the pool is nearly used up: give back what you do not use


@dataclass(frozen=True)
class HeldLease:
    """What the manager knows of one server's lease of one pool."""

    server_id: str
    region: str
    slots: int
    floor: int = 0
    in_use: int = 0
    renewed_at: float = 0.0  # manager time of the last request
    seq: int = 0  # the server's number of that request: a late duplicate of an older one changes nothing
    refusals: int = 0  # connections the server refused for want of slots (as it last reported)


@dataclass
class LeaseLedger:
    """The manager's book of one pool's leases. ``total`` None: unlimited (still counted)."""

    pool: Pool
    total: int | None
    terms: LeaseTerms
    epoch: int
    reservations: Mapping[str, int] = field(default_factory=dict)  # region -> slots held for isolated operation
    leases: dict[str, HeldLease] = field(default_factory=dict)

    # -- what is held -------------------------------------------------------------------------------------

    def hold_of(self, lease: HeldLease, now: float) -> int:
        """Slots counted against the pool for ``lease``: the whole lease until its grace is over, then its floor."""
        if now <= lease.renewed_at + self.terms.ttl_s + self.terms.grace_s:
            return max(lease.slots, lease.floor)
        return lease.floor

    def held(self, now: float) -> int:
        return sum(self.hold_of(lease, now) for lease in self.leases.values())

    def in_use(self) -> int:
        return sum(lease.in_use for lease in self.leases.values())

    def free(self, now: float) -> int | None:
        return None if self.total is None else max(0, self.total - self.held(now))

    def silent(self, now: float) -> list[str]:
        """Servers whose lease ran out without a renewal (cut off, stopped or dead)."""
        return [s for s, lease in self.leases.items() if now > lease.renewed_at + self.terms.ttl_s]

    # -- requests -----------------------------------------------------------------------------------------

    def request(
        self,
        server_id: str,
        region: str,
        wanted: int,
        in_use: int,
        now: float,
        *,
        seq: int = 0,
        refusals: int = 0,
    ) -> Grant:
        """A server asks for a lease of ``wanted`` slots (the whole lease, not more of it), reporting its use.

        ``seq`` numbers the server's requests: one older than the last seen (it was delayed) only renews.
        """
        wanted = max(0, wanted)
        previous = self.leases.get(server_id)
        if previous is not None and 0 < seq <= previous.seq:
            wanted, in_use, seq = previous.slots, previous.in_use, previous.seq
        floor = self._floor_for(server_id, region, now)
        if self.total is None:
            slots = wanted
        else:
            slots = min(wanted, self._most_for(server_id, region, floor, now))
        self.leases[server_id] = HeldLease(
            server_id=server_id,
            region=region,
            slots=slots,
            floor=floor,
            in_use=max(0, in_use),
            renewed_at=now,
            seq=seq,
            refusals=max(refusals, 0),
        )
        return Grant(
            pool=self.pool,
            slots=slots,
            floor=floor,
            ttl_s=self.terms.ttl_s,
            epoch=self.epoch,
            total=self.total,
            scarce=self._scarce(now),
        )

    def release(self, server_id: str) -> None:
        """The server said goodbye (a clean shutdown): its connections are gone, and so is its floor."""
        self.leases.pop(server_id, None)

    def expire(self, now: float) -> list[str]:
        """Drop leases whose grace is over and that hold no floor; the ids dropped."""
        gone = [s for s, lease in self.leases.items() if lease.floor == 0 and self.hold_of(lease, now) == 0]
        for server_id in gone:
            del self.leases[server_id]
        return gone

    @classmethod
    def restored(
        cls,
        pool: Pool,
        total: int | None,
        terms: LeaseTerms,
        epoch: int,
        stored: Iterable[HeldLease],
        now: float,
        reservations: Mapping[str, int] | None = None,
    ) -> LeaseLedger:
        """A restarted manager's book: every stored lease counted as renewed now (it cannot know better)."""
        leases = {lease.server_id: replace(lease, renewed_at=now) for lease in stored}
        return cls(pool, total, terms, epoch, dict(reservations or {}), leases)

    # -- internals ----------------------------------------------------------------------------------------

    def _scarce(self, now: float) -> bool:
        if self.total is None:
            return False
        return self.total - self.held(now) < max(self.terms.block, self.total // 100)

    def _most_for(self, server_id: str, region: str, floor: int, now: float) -> int:
        """The largest lease ``server_id`` may hold now, given what the other servers hold."""
        assert self.total is not None
        shared = self.total - sum(self.reservations.values())
        by_region: dict[str, int] = {}
        for other in self.leases.values():
            if other.server_id != server_id:
                by_region[other.region] = by_region.get(other.region, 0) + self.hold_of(other, now)
        # Each region's holdings use its reservation first, then the shared slots.
        used_shared = sum(max(0, held - self.reservations.get(r, 0)) for r, held in by_region.items())
        own_reserved_free = max(0, self.reservations.get(region, 0) - by_region.get(region, 0))
        return max(floor, own_reserved_free + shared - used_shared, 0)

    def _floor_for(self, server_id: str, region: str, now: float) -> int:
        """This server's share of its region's reservation, within what the others already hold as floors."""
        reserved = self.reservations.get(region, 0)
        if reserved <= 0:
            return 0
        peers = sorted({s for s, lease in self.leases.items() if lease.region == region} | {server_id})
        share, extra = divmod(reserved, len(peers))
        fair = share + (1 if peers.index(server_id) < extra else 0)
        others = sum(lease.floor for s, lease in self.leases.items() if lease.region == region and s != server_id)
        return max(0, min(fair, reserved - others))


@dataclass
class SeatLease:
    """An app server's side of one pool: its lease, the connections it admitted, and what to ask for next."""

    pool: Pool
    terms: LeaseTerms
    slots: int = 0
    floor: int = 0
    expires_at: float = float("-inf")  # own clock: the request's send time + ttl
    epoch: int = 0
    unlimited: bool = False
    total: int | None = None  # the pool's size, as the last grant said
    scarce: bool = False
    in_use: int = 0
    refusals: int = 0
    admitted: int = 0  # connections admitted since the server started (for /metrics)

    def apply(self, grant: Grant, sent_at: float) -> bool:
        """Take a grant answered to a request sent at ``sent_at``; False when fenced off (an older epoch)."""
        if grant.epoch < self.epoch:
            return False
        self.epoch = grant.epoch
        self.slots, self.floor = grant.slots, grant.floor
        self.unlimited, self.scarce, self.total = grant.total is None, grant.scarce, grant.total
        self.expires_at = sent_at + grant.ttl_s
        return True

    def ask(self, joining: int = 0) -> int:
        """The lease to request now, with room for ``joining`` connections waiting for it. A smaller lease takes
        effect at once: nothing is admitted beyond it meanwhile, so the manager, which counts the smaller lease
        once it answers, never counts less than is admitted."""
        wanted = self.wanted() + joining
        self.slots = min(self.slots, wanted)
        return wanted

    def live(self, now: float) -> bool:
        return now < self.expires_at

    def can_admit(self, now: float) -> bool:
        if self.live(now):
            return self.unlimited or self.in_use < self.slots
        # Cut off from the manager: only within this server's part of its region's reservation (no limit to keep
        # when the last grant said the pool is unlimited).
        return self.unlimited or self.in_use < self.floor

    def admit(self, now: float) -> bool:
        """Take a slot if the lease allows; a refusal is counted for the manager's figures."""
        if not self.can_admit(now):
            self.refusals += 1
            return False
        self.in_use += 1
        self.admitted += 1
        return True

    def release(self) -> None:
        self.in_use = max(0, self.in_use - 1)

    def wanted(self) -> int:
        """The lease to ask for next: a block in hand beyond the slots in use; none when the pool is short (a join
        then asks for its own slot), so no server keeps slots another one needs."""
        if self.scarce and not self.unlimited:
            return self.in_use
        low, high = self.in_use + self.terms.block // 2, self.in_use + 2 * self.terms.block
        if low <= self.slots <= high:
            return self.slots  # within the band: no churn
        return self.in_use + self.terms.block

    def running_low(self, now: float) -> bool:
        """Ask now, not at the next heartbeat: the lease ran out, or nearly all of it is in use."""
        if not self.live(now):
            return True
        return not self.unlimited and self.slots - self.in_use <= self.terms.block // 4

    def over_grace(self, now: float) -> int:
        """How many running connections must end: cut off for longer than the grace, beyond the floor."""
        if self.unlimited or now <= self.expires_at + self.terms.grace_s:
            return 0
        return max(0, self.in_use - self.floor)
