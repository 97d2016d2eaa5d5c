"""Manager role: turns every server's heartbeats into minute samples and stores them with their roll-ups.

The maths is :mod:`veche.domain.usage_stats`; this service feeds it heartbeats from the bus, writes the finished
minutes every few seconds (keeping them to try again while the database is away, up to a bound), and applies the
retention at most once an hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from veche.bus.base import Bus
from veche.bus.messages import ConferenceMoved, ServerHeartbeat
from veche.config.statistics import StatisticsConfig
from veche.domain.liveness import HEARTBEAT_INTERVAL_S
from veche.domain.usage_stats import LicenseMinutes, MinuteAccumulator, ScopeSample, ServerBeat
from veche.storage.usage_stats import UsageStatsStore

__all__ = ["UsageRecorder"]

logger = logging.getLogger(__name__)

FLUSH_EVERY_S = 5.0
PRUNE_EVERY_S = 3600.0
MAX_PENDING = 50_000  # samples kept for a retry while the database is away (about 8 h of 100 servers)
DAY_S = 86_400
MOVES_REMEMBERED = 10_000


class UsageRecorder:
    def __init__(
        self,
        bus: Bus,
        store: UsageStatsStore,
        config: StatisticsConfig,
        *,
        refusals_of: Callable[[str], int] = lambda server_id: 0,
        license_in_use: Callable[[], dict[str, int]] = dict,
        clock_s: Callable[[], float] = time.time,
    ) -> None:
        self._bus = bus
        self._store = store
        self._config = config
        self._refusals_of = refusals_of
        self._license_in_use = license_in_use
        self._licenses = LicenseMinutes()
        self._moves: dict[tuple[int, int], None] = {}  # (conference, epoch) heard, oldest first: one move counts once
        self._clock_s = clock_s
        self._minutes = MinuteAccumulator(heartbeat_interval_s=HEARTBEAT_INTERVAL_S)
        self._pending: list[ScopeSample] = []
        self._pruned_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._subscribed = False

    async def start(self) -> None:
        """Record from now on (the active manager only: a standby's start waits for its take-over)."""
        if not self._subscribed:  # the bus has no unsubscribe: a stopped recorder ignores what it hears
            self._bus.subscribe(ServerHeartbeat, self._on_heartbeat)
            self._bus.subscribe(ConferenceMoved, self._on_moved)
            self._subscribed = True
        self._minutes = MinuteAccumulator(heartbeat_interval_s=HEARTBEAT_INTERVAL_S)
        self._task = asyncio.create_task(self._loop(), name="usage-recorder")

    async def stop(self) -> None:
        task, self._task = self._task, None  # first, so nothing more is recorded
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()  # the minutes already finished; the current one is lost (a gap of under a minute)

    @property
    def recording(self) -> bool:
        return self._task is not None

    async def _on_heartbeat(self, hb: ServerHeartbeat) -> None:
        if not self.recording:
            return
        if "app" not in hb.roles:
            return  # conferences, participants and media traffic are the app servers'
        self._minutes.add(
            ServerBeat(
                server_id=hb.server_id,
                region=hb.region,
                at_s=self._clock_s(),  # when the manager heard it: servers' clocks may be off
                cpu_use=hb.figures.cpu_use,
                net_in_bps=hb.figures.net_in_bps,
                net_out_bps=hb.figures.net_out_bps,
                conferences=hb.conferences,
                participants=hb.participants,
                refusals=self._refusals_of(hb.server_id),
            )
        )

    async def _on_moved(self, moved: ConferenceMoved) -> None:
        if not self.recording:
            return
        key = (moved.conference_id, moved.epoch)
        if key in self._moves:
            return
        self._moves[key] = None
        if len(self._moves) > MOVES_REMEMBERED:
            del self._moves[next(iter(self._moves))]
        self._minutes.moved(self._clock_s())

    def sample_licenses(self) -> None:
        """One reading of every pool's connections in use (the loop takes one each flush)."""
        self._licenses.add(self._clock_s(), self._license_in_use())

    async def flush(self) -> int:
        """Store the finished minutes (and any kept from a failed try); returns how many samples were new."""
        now = self._clock_s()
        self._pending.extend(self._minutes.finished(now))
        self._pending.extend(self._licenses.finished(now))
        if not self._pending:
            return 0
        try:
            added = await self._store.add(self._pending)
        except Exception:
            if len(self._pending) > MAX_PENDING:
                dropped = len(self._pending) - MAX_PENDING
                del self._pending[:dropped]
                logger.warning("statistics: the database is away; dropped the %d oldest samples", dropped)
            logger.exception("statistics: storing %d samples failed; will try again", len(self._pending))
            return 0
        self._pending.clear()
        return added

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            self.sample_licenses()
            await self.flush()
            now = self._clock_s()
            if now - self._pruned_at >= PRUNE_EVERY_S:
                self._pruned_at = now
                try:
                    await self._store.prune(
                        samples_before_s=int(now) - self._config.samples_days * DAY_S,
                        hours_before_s=int(now) - self._config.hours_days * DAY_S,
                    )
                except Exception:
                    logger.exception("statistics: retention failed; will try again in an hour")
