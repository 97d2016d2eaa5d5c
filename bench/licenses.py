"""License lease benchmark: a 120,000-slot pool leased by 20 app servers, 1,000 joins and leaves a second.

    .venv/bin/python bench/licenses.py [--bus nats|inproc] [--db sqlite|postgres] [--pool 120000] [--servers 20]
                                       [--rate 1000] [--seconds 60] [--restart-gap 2] [--quick]

The real lease code: the manager's ``LicensePool`` (its total from a license file installed with
``InstalledLicense``, its leases in a real database: SQLite, or ``--db postgres`` a throwaway PostgreSQL) and 20 app
servers' ``LicenseSeats`` (distinct server ids, four regions). On NATS (a throwaway nats-server) the manager runs as a
process of its own (this script with ``--manager-process``) and each app server has its own connection; with
``--bus inproc`` everything shares one process and one InProcessBus. A load generator makes Poisson joins (a
browser user each, on a uniformly chosen server, one task per join) and leaves (a random participant) and times
each ``admit``. Phases:

0. baseline: the same load on ``CountedAdmission`` (one in-memory counter of the same pool), pre-filled alike;
1. pre-fill the leased pool to 95 %: joins back to back on every server, as fast as the leases allow;
2. steady: joins and leaves at ``--rate`` each for ``--seconds``;
3. the same with the manager restarted twice (at 1/3 and 2/3): stopped (SIGTERM: its pool, then its bus), then
   ``--restart-gap`` s later a new one on the same database (a new epoch, the stored leases restored);
4. saturation: joins at ``--rate``, leaves at half of it, until a join is refused for a full pool, then
   ``--saturated`` s more.

Prints per phase the admission latency, lease messages a second, round trips, the manager's writes ahead of grants,
CPU, and over-grants: checks (after every admission and every 100 ms) where the connections admitted on all servers
exceed the pool; also the samples where what the servers may still admit (their live leases) exceeds it. Then the
cost of each restart and utilisation at saturation (admitted / pool) next to what the manager's book had free.
No assertions: the figures are for people (bench/README.md says what a run showed).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import logging
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from veche.app.admission import Admission, CountedAdmission, Seat
from veche.app.license_seats import LicenseSeats
from veche.bus.base import Bus, BusError, EventHandler, M, Q, R, RequestHandler
from veche.bus.inproc import InProcessBus
from veche.bus.lease_messages import GetLicenseReport
from veche.bus.messages import BusMessage, BusRequest
from veche.bus.nats import NatsBus
from veche.dev.nats import ThrowawayNats
from veche.dev.postgres import ThrowawayPostgres
from veche.domain.leases import HeldLease, LeaseTerms
from veche.domain.license import License, generate_key, sign_license
from veche.domain.license_pools import Pool
from veche.domain.room import ParticipantKind
from veche.domain.room_errors import LicenseExhausted
from veche.manager.license_file import InstalledLicense
from veche.manager.license_pool import LicensePool
from veche.storage.database import Database
from veche.storage.licenses import LicenseStore

REGIONS = ["eu-west", "eu-east", "us-east", "asia"]
SAMPLE_EVERY_S = 0.1
PREFILL_SHARE = 0.95


# -- counting what crosses the bus and what is written --------------------------------------------------------


@dataclass
class Tally:
    sent: int = 0  # lease requests the app servers sent
    received: int = 0  # replies they got
    db_writes: int = 0
    db_write_s: list[float] = field(default_factory=list)
    manager_cpu_s: float = 0.0  # the manager process's CPU time (only when it runs apart)
    round_trip_s: list[float] = field(default_factory=list)  # of each answered lease request
    unanswered: int = 0  # lease requests that timed out or found no manager

    @property
    def messages(self) -> int:
        return self.sent + self.received

    def snapshot(self) -> tuple[int, int, int, float, int, int]:
        return (
            self.messages,
            self.db_writes,
            len(self.db_write_s),
            self.manager_cpu_s,
            len(self.round_trip_s),
            self.unanswered,
        )


class CountingBus(Bus):
    """An app server's bus, counting the lease requests it sends and the replies it receives."""

    def __init__(self, inner: Bus, tally: Tally) -> None:
        self._inner, self._tally = inner, tally

    async def publish(self, message: BusMessage) -> None:
        await self._inner.publish(message)

    def subscribe(self, message_type: type[M], handler: EventHandler[M]) -> None:
        self._inner.subscribe(message_type, handler)

    def handle(self, message_type: type[Q], handler: RequestHandler[Q]) -> None:
        self._inner.handle(message_type, handler)

    async def request(self, message: BusRequest[R], timeout_s: float = 2.0) -> R:
        self._tally.sent += 1
        start = time.perf_counter()
        try:
            reply = await self._inner.request(message, timeout_s)
        except BusError:
            self._tally.unanswered += 1
            raise
        self._tally.round_trip_s.append(time.perf_counter() - start)
        self._tally.received += 1
        return reply

    async def publish_to(self, server_id: str, message: BusMessage) -> None:
        await self._inner.publish_to(server_id, message)

    async def request_to(self, server_id: str, message: BusRequest[R], timeout_s: float = 2.0) -> R:
        return await self._inner.request_to(server_id, message, timeout_s)

    async def close(self) -> None:
        await self._inner.close()


class TimedStore(LicenseStore):
    """The manager's store, counting and timing the lease writes made before grants are answered."""

    def __init__(self, database: Database, tally: Tally) -> None:
        super().__init__(database.sessions)
        self._tally = tally

    async def save(self, changed: Iterable[tuple[Pool, HeldLease]], dropped: Iterable[tuple[Pool, str]] = ()) -> None:
        start = time.perf_counter()
        await super().save(list(changed), list(dropped))
        self._tally.db_writes += 1
        self._tally.db_write_s.append(time.perf_counter() - start)


# -- the manager: in its own process on NATS, or in this one on the in-process bus --------------------------


def new_license_pool(
    bus: Bus, database: Database, installed: InstalledLicense, terms: LeaseTerms, tally: Tally
) -> LicensePool:
    return LicensePool(
        bus,
        TimedStore(database, tally),
        installed,
        terms=terms,
        reservations={},
        wall=lambda: datetime.now(UTC),
        today=lambda: datetime.now(UTC).date(),
    )


def restored_held(pool: LicensePool) -> int:
    """The slots the pool counts for the video leases (right after start: the restored book)."""
    return sum(next(r for r in pool.report() if r.pool is Pool.VIDEO).leased.values())


class InProcessManager:
    """A ``LicensePool`` in this process; stopped, it stays registered on the bus and declines every request."""

    def __init__(
        self, bus: InProcessBus, database: Database, installed: InstalledLicense, terms: LeaseTerms, tally: Tally
    ) -> None:
        self._bus, self._database, self._installed, self._terms, self._tally = bus, database, installed, terms, tally
        self._pool: LicensePool | None = None

    async def start(self) -> tuple[int, int]:
        """Start a new manager: its epoch and what its restored book holds."""
        pool = new_license_pool(self._bus, self._database, self._installed, self._terms, self._tally)
        await pool.start()
        self._pool = pool
        return pool.epoch, restored_held(pool)

    async def stop(self) -> None:
        if self._pool is not None:
            await self._pool.stop()
            self._pool = None


class ManagerProcess:
    """The manager as a process of its own (this script with ``--manager-process``), stopped with SIGTERM.

    It prints one JSON line when started (epoch, restored book) and then its database writes and CPU time twice
    a second, which are added to ``tally``."""

    def __init__(self, nats_url: str, db_url: str, data_dir: Path, args: argparse.Namespace, tally: Tally) -> None:
        self._command = [
            sys.executable, __file__, "--manager-process",
            "--nats-url", nats_url, "--db-url", db_url, "--data-dir", str(data_dir),
            "--ttl", str(args.ttl), "--grace", str(args.grace), "--block", str(args.block),
        ]  # fmt: skip
        self._tally = tally
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> tuple[int, int]:
        self._process = await asyncio.create_subprocess_exec(*self._command, stdout=asyncio.subprocess.PIPE)
        assert self._process.stdout is not None
        line = await self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the manager process exited with {await self._process.wait()}")
        started = json.loads(line)
        self._reader = asyncio.create_task(self._read(self._process.stdout))
        return started["epoch"], started["restored"]

    async def stop(self) -> None:
        if self._process is None:
            return
        self._process.send_signal(signal.SIGTERM)
        await self._process.wait()
        if self._reader is not None:
            await self._reader
        self._process = self._reader = None

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        while line := await stdout.readline():
            figures = json.loads(line)
            self._tally.db_writes += figures["writes"]
            self._tally.db_write_s.extend(figures["write_s"])
            self._tally.manager_cpu_s += figures["cpu_s"]


async def manager_process(args: argparse.Namespace) -> None:
    """The body of ``--manager-process``: one LicensePool on NATS until SIGTERM."""
    database = Database(args.db_url)
    bus = await NatsBus.connect(args.nats_url, server_id="manager")
    tally = Tally()
    pool = new_license_pool(
        bus, database, InstalledLicense(args.data_dir, []), LeaseTerms(args.ttl, args.grace, args.block), tally
    )
    await bus.flush()
    await pool.start()
    print(json.dumps({"epoch": pool.epoch, "restored": restored_held(pool)}), flush=True)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    reported = (0, 0, time.process_time())

    def report() -> None:
        nonlocal reported
        writes, times, cpu = reported
        now = (tally.db_writes, len(tally.db_write_s), time.process_time())
        figures = {"writes": now[0] - writes, "write_s": tally.db_write_s[times:], "cpu_s": now[2] - cpu}
        print(json.dumps(figures), flush=True)
        reported = now

    while not stopping.is_set():
        try:
            await asyncio.wait_for(stopping.wait(), 0.5)
        except TimeoutError:
            pass
        report()
    await pool.stop()
    await bus.close()  # answers what arrived, then closes
    await database.close()
    report()


# -- the cluster: one manager (restartable), N app servers -----------------------------------------------------


@dataclass
class Cluster:
    args: argparse.Namespace
    terms: LeaseTerms
    manager: InProcessManager | ManagerProcess
    nats: ThrowawayNats | None
    shared_bus: InProcessBus | None
    tally: Tally
    seats: list[LicenseSeats] = field(default_factory=list)
    buses: list[Bus] = field(default_factory=list)
    observer: Bus | None = None  # the bench's own connection, to read the manager's figures

    async def bus(self, server_id: str) -> Bus:
        if self.shared_bus is not None:
            return self.shared_bus
        assert self.nats is not None
        bus = await NatsBus.connect(self.nats.url, server_id=server_id)
        self.buses.append(bus)
        return bus

    async def start_servers(self) -> None:
        for i in range(self.args.servers):
            server_id = f"app-{i + 1:02d}"
            seats = LicenseSeats(
                CountingBus(await self.bus(server_id), self.tally),
                server_id=server_id,
                region=REGIONS[i % len(REGIONS)],
                terms=self.terms,
            )
            self.seats.append(seats)
        self.observer = await self.bus("bench")
        for bus in self.buses:
            if isinstance(bus, NatsBus):
                await bus.flush()
        await asyncio.gather(*(seats.start() for seats in self.seats))

    def in_use(self) -> int:
        return sum(seats.leases[Pool.VIDEO].in_use for seats in self.seats)

    async def manager_free(self) -> int | None:
        """What the manager's book has free in the pool now (None: no manager answers)."""
        assert self.observer is not None
        try:
            report = await self.observer.request(GetLicenseReport(usage_hours=0), timeout_s=0.5)
        except BusError:
            return None
        return report.pools[Pool.VIDEO.value].free

    def committed(self) -> int:
        """Connections servers hold or may still admit: their live leases (only the floor when cut off)."""
        now = time.monotonic()
        total = 0
        for seats in self.seats:
            lease = seats.leases[Pool.VIDEO]
            total += max(lease.in_use, lease.slots if lease.live(now) else lease.floor)
        return total

    async def close(self) -> None:
        for seats in self.seats:
            await seats.stop()
        await self.manager.stop()
        for bus in self.buses:
            await bus.close()
        if self.shared_bus is not None:
            await self.shared_bus.close()


# -- the load -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    at: float  # monotonic
    in_use: int  # connections admitted on all servers then
    committed: int  # what the servers held or could still admit then
    unreachable: bool  # the server could not reach the manager (not a full pool)


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    admitted: int = 0
    refused: int = 0
    latencies_s: list[float] = field(default_factory=list)  # of every join, admitted or refused
    admission_latencies_s: list[float] = field(default_factory=list)
    refusal_latencies_s: list[float] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    first_full_refusal_at: float | None = None  # the first refusal for a full pool (not for want of a manager)
    lags_s: list[float] = field(default_factory=list)  # how late the generator started each join
    over_grants: int = 0  # samples where the admitted connections exceeded the pool
    over_commits: int = 0  # samples where the servers' live leases exceeded it
    checks: int = 0
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (monotonic, admitted, committed)
    manager_free: list[tuple[float, int | None]] = field(default_factory=list)  # (asked at, free in its book)
    messages: int = 0
    db_writes: int = 0
    db_write_s: list[float] = field(default_factory=list)
    manager_cpu_s: float = 0.0
    round_trip_s: list[float] = field(default_factory=list)
    unanswered: int = 0  # lease requests that got no answer (timed out, or no manager)
    own_cpu_s: float = 0.0  # this process: the load generator and every app server's LicenseSeats
    end_in_use: int = 0

    def take(self, tally: Tally, before: tuple[int, int, int, float, int, int]) -> None:
        """The tally's figures since ``before``."""
        self.messages = tally.messages - before[0]
        self.db_writes = tally.db_writes - before[1]
        self.db_write_s = tally.db_write_s[before[2] :]
        self.manager_cpu_s = tally.manager_cpu_s - before[3]
        self.round_trip_s = tally.round_trip_s[before[4] :]
        self.unanswered = tally.unanswered - before[5]


@dataclass
class Restart:
    stopped_at: float
    in_use: int
    restarted_at: float = 0.0
    epoch: int = 0
    restored_held: int = 0
    all_back_s: float | None = None  # from the new start until every server holds a grant of the new epoch


class Load:
    """Joins and leaves at given rates over ``targets`` (one admission per app server), with the checks."""

    def __init__(
        self,
        targets: Sequence[Admission],
        pool: int,
        in_use: Callable[[], int],
        committed: Callable[[], int] | None,
        tally: Tally,
        rng: random.Random,
        manager_free: Callable[[], Awaitable[int | None]] | None = None,
    ) -> None:
        self.targets, self.pool, self.in_use, self.committed = targets, pool, in_use, committed
        self.manager_free = manager_free
        self.tally, self.rng = tally, rng
        self.held: list[Seat] = []
        self.ids = itertools.count(1)
        self.joins: set[asyncio.Task[None]] = set()

    async def fill(self, count: int, phase: Phase) -> None:
        """Admit ``count`` participants as fast as the admission allows: one sequence of joins per server."""
        share, extra = divmod(count, len(self.targets))

        async def fill_one(index: int) -> None:
            for _ in range(share + (1 if index < extra else 0)):
                await self.join(self.targets[index], phase)

        await asyncio.gather(*(fill_one(i) for i in range(len(self.targets))))

    async def join(self, target: Admission, phase: Phase) -> None:
        identity = f"user:{next(self.ids)}"
        start = time.perf_counter()
        try:
            seat = await target.admit(identity, ParticipantKind.BROWSER, False)
        except LicenseExhausted:
            phase.latencies_s.append(time.perf_counter() - start)
            phase.refusal_latencies_s.append(phase.latencies_s[-1])
            phase.refused += 1
            committed = self.committed() if self.committed is not None else 0
            unreachable = isinstance(target, LicenseSeats) and not target.manager_reachable
            phase.refusals.append(Refusal(time.monotonic(), self.in_use(), committed, unreachable))
            if not unreachable and phase.first_full_refusal_at is None:
                phase.first_full_refusal_at = time.monotonic()
            return
        phase.latencies_s.append(time.perf_counter() - start)
        phase.admission_latencies_s.append(phase.latencies_s[-1])
        phase.admitted += 1
        self.held.append(seat)
        if self.committed is not None:
            phase.checks += 1
            if self.in_use() > self.pool:
                phase.over_grants += 1

    def leave(self) -> None:
        if not self.held:
            return
        i = self.rng.randrange(len(self.held))
        self.held[i], self.held[-1] = self.held[-1], self.held[i]
        self.held.pop().release()

    async def run(
        self,
        phase: Phase,
        join_rate: float,
        leave_rate: float,
        seconds: float,
        *,
        actions: Sequence[tuple[float, Callable[[], Awaitable[None]]]] = (),
        after_refusal_s: float | None = None,
    ) -> Phase:
        """Poisson joins and leaves for ``seconds`` (or until ``after_refusal_s`` past the first refusal for a full
        pool); ``actions`` run at their offsets (in seconds) meanwhile."""
        before, cpu_before = self.tally.snapshot(), time.process_time()
        start = time.monotonic()
        samplers = [asyncio.create_task(self._sample(phase))]
        if self.manager_free is not None:
            samplers.append(asyncio.create_task(self._watch_manager(phase, self.manager_free)))
        scripted = asyncio.create_task(_run_actions(start, actions))
        next_join = start + self.rng.expovariate(join_rate)
        next_leave = start + self.rng.expovariate(leave_rate) if leave_rate > 0 else float("inf")
        end = start + seconds
        while True:
            now = time.monotonic()
            if now >= end:
                break
            full = phase.first_full_refusal_at
            if after_refusal_s is not None and full is not None and now >= full + after_refusal_s:
                break
            while next_join <= now:
                phase.lags_s.append(now - next_join)
                task = asyncio.create_task(self.join(self.rng.choice(self.targets), phase))
                self.joins.add(task)
                task.add_done_callback(self.joins.discard)
                next_join += self.rng.expovariate(join_rate)
            while next_leave <= now:
                self.leave()
                next_leave += self.rng.expovariate(leave_rate)
            await asyncio.sleep(max(0.0, min(next_join, next_leave, end) - time.monotonic()))
        if self.joins:
            await asyncio.wait(set(self.joins))
        await scripted
        for sampler in samplers:
            sampler.cancel()
        phase.seconds = time.monotonic() - start
        phase.take(self.tally, before)
        phase.own_cpu_s = time.process_time() - cpu_before
        phase.end_in_use = self.in_use()
        return phase

    async def _sample(self, phase: Phase) -> None:
        while True:
            in_use = self.in_use()
            committed = self.committed() if self.committed is not None else in_use
            phase.samples.append((time.monotonic(), in_use, committed))
            if self.committed is not None:
                phase.checks += 1
                phase.over_grants += in_use > self.pool
                phase.over_commits += committed > self.pool
            await asyncio.sleep(SAMPLE_EVERY_S)

    async def _watch_manager(self, phase: Phase, manager_free: Callable[[], Awaitable[int | None]]) -> None:
        while True:
            asked_at = time.monotonic()
            phase.manager_free.append((asked_at, await manager_free()))
            await asyncio.sleep(max(0.0, asked_at + SAMPLE_EVERY_S - time.monotonic()))


async def _run_actions(start: float, actions: Sequence[tuple[float, Callable[[], Awaitable[None]]]]) -> None:
    """Each action at its offset from ``start``, one after the other (a late one waits for the one before)."""
    for at, action in sorted(actions, key=lambda a: a[0]):
        await asyncio.sleep(max(0.0, start + at - time.monotonic()))
        await action()


# -- the phases -----------------------------------------------------------------------------------------------


def install_license(root: Path, video: int) -> InstalledLicense:
    """A signed license with ``video`` video connections (other pools unlimited), installed in ``root``."""
    private, public = generate_key()
    today = datetime.now(UTC).date()
    license = License(
        license_id="bench-licenses",
        organisation="Bench",
        expires=today + timedelta(days=30),
        issued_at=datetime.now(UTC),
        pools={Pool.VIDEO: video, Pool.ONLINE_USERS: None, Pool.GUESTS: None, Pool.GATEWAY: None},
    )
    installed = InstalledLicense(root, [])
    installed.install(sign_license(license, private), extra_trust=[public])
    return installed


def settle_garbage() -> None:
    """Keep the collector off the pre-filled participants: 114,000 seats in one process are this harness's (an
    app server holds a twentieth), and full collections over them paused the loop for 100 ms and more."""
    gc.collect()
    gc.freeze()


async def baseline(args: argparse.Namespace) -> Phase:
    counter = CountedAdmission(limits={Pool.VIDEO: args.pool})
    load = Load(
        [counter] * args.servers,
        args.pool,
        lambda: counter.in_use.get(Pool.VIDEO, 0),
        None,
        Tally(),
        random.Random(1),
    )
    await load.fill(int(args.pool * PREFILL_SHARE), Phase("fill"))
    settle_garbage()
    try:
        return await load.run(Phase("baseline: CountedAdmission"), args.rate, args.rate, args.baseline)
    finally:
        gc.unfreeze()


async def restart(cluster: Cluster, record: list[Restart], gap_s: float) -> None:
    entry = Restart(stopped_at=time.monotonic(), in_use=cluster.in_use())
    record.append(entry)
    await cluster.manager.stop()
    await asyncio.sleep(gap_s)
    entry.epoch, entry.restored_held = await cluster.manager.start()
    entry.restarted_at = time.monotonic()
    while any(seats.leases[Pool.VIDEO].epoch < entry.epoch for seats in cluster.seats):
        if time.monotonic() - entry.restarted_at > 30:
            return
        await asyncio.sleep(0.01)
    entry.all_back_s = time.monotonic() - entry.restarted_at


async def leased(args: argparse.Namespace, root: Path) -> tuple[list[Phase], list[Restart]]:
    terms = LeaseTerms(ttl_s=args.ttl, grace_s=args.grace, block=args.block)
    installed = install_license(root / "data", args.pool)
    postgres = ThrowawayPostgres.start() if args.db == "postgres" else None
    db_url = postgres.url if postgres else f"sqlite+aiosqlite:///{root / 'veche.db'}"
    database = Database(db_url)
    await database.migrate()
    nats = ThrowawayNats.start() if args.bus == "nats" else None
    tally = Tally()
    shared_bus = None if nats else InProcessBus()
    manager: InProcessManager | ManagerProcess
    if shared_bus is not None:
        manager = InProcessManager(shared_bus, database, installed, terms, tally)
    else:
        assert nats is not None
        manager = ManagerProcess(nats.url, db_url, root / "data", args, tally)
    cluster = Cluster(args, terms, manager, nats, shared_bus, tally)
    try:
        await manager.start()
        await cluster.start_servers()
        load = Load(
            cluster.seats, args.pool, cluster.in_use, cluster.committed, tally, random.Random(2), cluster.manager_free
        )
        fill = Phase(f"leases: pre-fill to {PREFILL_SHARE:.0%}, back to back")
        before, cpu_before = tally.snapshot(), time.process_time()
        started = time.monotonic()
        await load.fill(int(args.pool * PREFILL_SHARE), fill)
        fill.seconds = time.monotonic() - started
        await asyncio.sleep(0.6)  # the manager process's figures of the last half second
        fill.take(tally, before)
        fill.own_cpu_s = time.process_time() - cpu_before
        fill.end_in_use = cluster.in_use()
        settle_garbage()
        steady = await load.run(Phase("leases: steady"), args.rate, args.rate, args.seconds)
        restarts: list[Restart] = []
        actions = [(args.seconds * k / 3, lambda: restart(cluster, restarts, args.restart_gap)) for k in (1, 2)]
        restarted = await load.run(
            Phase("leases: manager restarted twice"), args.rate, args.rate, args.seconds, actions=actions
        )
        saturation = await load.run(
            Phase(f"leases: saturation, leaves {args.rate / 2:g}/s"),
            args.rate,
            args.rate / 2,
            args.saturation_limit,
            after_refusal_s=args.saturated,
        )
        return [fill, steady, restarted, saturation], restarts
    finally:
        await cluster.close()
        await database.close()
        if nats is not None:
            nats.stop()
        if postgres is not None:
            postgres.stop()


# -- the report -----------------------------------------------------------------------------------------------


def quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 0.1 else f"{seconds * 1000:,.0f} ms"


def report(args: argparse.Namespace, base: Phase, phases: list[Phase], restarts: list[Restart], wall_s: float) -> None:
    pool = args.pool
    print(
        f"\nLicense leases: pool of {pool:,} video connections (online users, guests, gateway unlimited, counted) "
        f"over {args.servers} app servers in {len(REGIONS)} regions; bus {args.bus}"
        f"{' (manager in its own process)' if args.bus == 'nats' else ''}, store {args.db}; terms ttl {args.ttl:g} s, "
        f"grace {args.grace:g} s, block {args.block}; {args.rate:g} joins/s and {args.rate:g} leaves/s (Poisson); "
        f"{wall_s:.0f} s in all\n"
    )
    rows = [
        (
            "phase", "s", "admitted", "refused", "p50 us", "p99 us", "max ms", "msg/s", "rtt p50/p99 ms", "no answer",
            "wr/s", "wr p99 ms", "mgr CPU", "own CPU", "in use", "over-grants",
        )
    ]  # fmt: skip
    for phase in [base, *phases]:
        leased = phase is not base
        rtt = phase.round_trip_s
        rows.append(
            (
                phase.name,
                f"{phase.seconds:.1f}",
                f"{phase.admitted:,}",
                f"{phase.refused:,}",
                f"{statistics.median(phase.latencies_s) * 1e6:.0f}",
                f"{quantile(phase.latencies_s, 0.99) * 1e6:,.0f}",
                f"{max(phase.latencies_s) * 1000:,.1f}",
                f"{phase.messages / phase.seconds:,.0f}" if leased else "-",
                f"{quantile(rtt, 0.5) * 1000:.1f}/{quantile(rtt, 0.99) * 1000:.0f}" if rtt else "-",
                f"{phase.unanswered:,}" if leased else "-",
                f"{phase.db_writes / phase.seconds:.0f}" if leased else "-",
                f"{quantile(phase.db_write_s, 0.99) * 1000:.1f}" if phase.db_write_s else "-",
                f"{phase.manager_cpu_s / phase.seconds:.0%}" if phase.manager_cpu_s else "-",
                f"{phase.own_cpu_s / phase.seconds:.0%}",
                f"{phase.end_in_use / pool:.2%}",
                f"{phase.over_grants}/{phase.checks}" if leased else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        cells = [
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells))
        if n == 0:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))
    lag = [lag for phase in [base, *phases[1:]] for lag in phase.lags_s]
    commits = sum(p.over_commits for p in phases)
    print(
        "\n  p50/p99/max: admit() of every join, admitted or refused. msg/s: lease requests the app servers sent +"
        "\n  replies they received. rtt: a lease request's round trip as the app server saw it (answered ones)."
        "\n  no answer: requests that timed out (1 s) or found no manager. wr/s, wr p99: the manager's lease writes"
        "\n  before it answers. mgr CPU: the manager process, own CPU: this one (load generator and all app servers),"
        "\n  per wall second. in use: admitted / pool at the end. over-grants: checks (every 100 ms and after each"
        "\n  admission) where the connections admitted on all servers exceeded the pool / checks made. s includes"
        "\n  waiting for the joins still pending at the end."
        f"\n  Samples where the servers' live leases (what they may still admit) exceeded the pool: {commits}."
        f"\n  The load generator started joins late by p99 {ms(quantile(lag, 0.99))}, max {ms(max(lag))}."
    )
    fill = phases[0]
    requests = fill.messages / 2
    print(
        f"\nPre-fill, joins back to back on every server: {fill.admitted:,} in {fill.seconds:.1f} s "
        f"({fill.admitted / fill.seconds:,.0f}/s); {requests:,.0f} lease requests "
        f"({fill.admitted / max(1, requests):.1f} joins each), {fill.db_writes:,} writes"
    )
    restarted = phases[2]
    for i, entry in enumerate(restarts, 1):
        window_end = entry.restarted_at + (entry.all_back_s or 0.0)
        during = [r for r in restarted.refusals if entry.stopped_at <= r.at <= window_end]
        back = f"{entry.all_back_s:.2f} s" if entry.all_back_s is not None else "not within 30 s"
        print(
            f"Restart {i}: {entry.restarted_at - entry.stopped_at:.2f} s without a manager; epoch {entry.epoch}; "
            f"restored book {entry.restored_held:,} for {entry.in_use:,} admitted "
            f"({entry.restored_held - entry.in_use:+,}); all servers on the new epoch {back} after its start; "
            f"{len(during)} joins refused from the stop until then"
        )
    saturation = phases[3]
    full = [r for r in saturation.refusals if not r.unreachable]
    unreachable = len(saturation.refusals) - len(full)
    if not full:
        print(f"Saturation: no join refused for a full pool within {args.saturation_limit:g} s")
        return
    first = full[0]
    after = [(used, committed) for t, used, committed in saturation.samples if t >= first.at]
    lowest = min(full, key=lambda r: r.in_use)
    print(
        f"Utilisation at saturation (admitted / pool, target >= 99 %): {first.in_use / pool:.2%} at the first refusal "
        f"({pool - first.in_use:,} not in use, {pool - first.committed:,} not held by any server); from then on "
        f"(100 ms samples) mean {statistics.mean(u for u, _ in after) / pool:.2%}, min "
        f"{min(u for u, _ in after) / pool:.2%}; the lowest at a refusal {lowest.in_use / pool:.2%} "
        f"({pool - lowest.in_use:,} not in use, {pool - lowest.committed:,} not held)"
    )
    book = [(t, free) for t, free in saturation.manager_free if free is not None]
    before = [free for t, free in book if t <= first.at]
    later = [free for t, free in book if t >= first.at]
    if before and later:
        print(
            f"The manager's book had {before[-1]:,} free just before the first refusal; from then on mean "
            f"{statistics.mean(later):,.0f}, max {max(later):,} free (read every 100 ms with GetLicenseReport)"
        )
    refusals, admissions = saturation.refusal_latencies_s, saturation.admission_latencies_s
    print(
        f"At saturation: {len(full):,} refused for a full pool, {unreachable:,} because the manager did not answer; "
        f"an admitted join took p50 {ms(quantile(admissions, 0.5))}, p99 {ms(quantile(admissions, 0.99))}; "
        f"a refused one p50 {ms(quantile(refusals, 0.5))}, p99 {ms(quantile(refusals, 0.99))}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bus", choices=["nats", "inproc"], default="nats")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pool", type=int, default=120_000, help="video connections of the license")
    parser.add_argument("--servers", type=int, default=20)
    parser.add_argument("--rate", type=float, default=1000.0, help="joins a second, and leaves a second")
    parser.add_argument("--seconds", type=float, default=60.0, help="the steady and the restart phase, each")
    parser.add_argument("--baseline", type=float, default=None, help="seconds of the baseline (default --seconds)")
    parser.add_argument("--restart-gap", type=float, default=2.0, help="seconds without a manager at each restart")
    parser.add_argument("--saturated", type=float, default=10.0, help="seconds to go on after the first refusal")
    parser.add_argument("--saturation-limit", type=float, default=120.0, help="give up saturating after this")
    parser.add_argument("--ttl", type=float, default=LeaseTerms.ttl_s)
    parser.add_argument("--grace", type=float, default=LeaseTerms.grace_s)
    parser.add_argument("--block", type=int, default=LeaseTerms.block)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run (under a minute): pool 12,000, 10 s phases, baseline 5 s, 3 s saturated, 1 s restarts",
    )
    parser.add_argument("--verbose", action="store_true", help="log the lease code's warnings and info")
    parser.add_argument("--manager-process", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--nats-url", help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.manager_process:
        logging.basicConfig(level=logging.ERROR, format="manager %(levelname)s %(message)s")
        asyncio.run(manager_process(args))
        return
    if args.quick:
        args.pool, args.seconds, args.saturated, args.restart_gap = 12_000, 10.0, 3.0, 1.0
        args.baseline = args.baseline or 5.0
    if args.baseline is None:
        args.baseline = args.seconds
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR, format="%(levelname)s %(message)s")
    root = Path(tempfile.mkdtemp(prefix="veche-bench-licenses-"))
    started = time.monotonic()
    try:
        base = asyncio.run(baseline(args))
        phases, restarts = asyncio.run(leased(args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report(args, base, phases, restarts, time.monotonic() - started)


if __name__ == "__main__":
    main()
