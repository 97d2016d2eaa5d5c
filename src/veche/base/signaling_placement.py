"""Which app server a client connects to for a conference: placement applied, recorded and reused.

The first join places the conference with :func:`veche.domain.placement.place_conference` over the live view;
later joins go to the same server while it is alive. When a client reports that its server failed, a quick
addressed ping checks it (NATS answers at once for a process that is gone) and the conference moves to another
live server. When the bus itself is away the recorded placement is trusted, so running conferences keep
admitting people without the manager or NATS.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from veche.bus.base import Bus, BusError
from veche.bus.messages import ConferenceEnded, ConferenceMoved, Ping
from veche.domain.clock import Clock
from veche.domain.errors import Unavailable
from veche.domain.model import Conference
from veche.domain.placement import (
    NoServerAvailable,
    PlacementCosts,
    PlacementRequest,
    estimate_load,
    load_after,
    place_conference,
)
from veche.domain.server_snapshot import ServerSnapshot, ServerStatus
from veche.manager.registry import ServerRegistry
from veche.storage.cluster import Placement, PlacementStore

__all__ = ["PlacementJanitor", "SignalingPlacement", "SignalingTarget"]

logger = logging.getLogger(__name__)

PING_TIMEOUT_S = 0.5
DEFAULT_EXPECTED = 8  # expected size of a conference that has no schedule yet
# Heartbeats show a placement's load a second or two later; until then this web server counts it itself,
# so a burst of new conferences spreads instead of piling onto the server that looked idlest.
PENDING_WINDOW_S = 5.0


class PlacementJanitor:
    """Base role: forgets a conference's placement when it ends, so its next start is placed afresh."""

    def __init__(self, bus: Bus, store: PlacementStore) -> None:
        self._store = store
        bus.subscribe(ConferenceEnded, self._on_ended)

    async def _on_ended(self, message: ConferenceEnded) -> None:
        await self._store.forget(message.conference_id, message.server_id)


@dataclass(frozen=True)
class SignalingTarget:
    server_id: str
    signaling_url: str  # "" = the same origin as the web pages
    epoch: int = 0  # the leg's placement epoch, named in the join ticket


class SignalingPlacement:
    def __init__(
        self,
        registry: ServerRegistry,
        store: PlacementStore,
        bus: Bus,
        clock: Clock,
        clock_s: Callable[[], float] = time.time,
    ) -> None:
        self._registry = registry
        self._store = store
        self._bus = bus
        self._clock = clock
        self._clock_s = clock_s
        self._recent: list[tuple[float, str, int]] = []  # (placed at, server, expected participants)

    async def server_of(self, conference_id: int) -> str | None:
        """The app server a running conference is on (commands about it go there, not to everyone)."""
        current = await self._store.get(conference_id)
        return current.server_id if current is not None else None

    async def target_for(
        self, conference: Conference, *, region: str | None = None, failed_server: str | None = None
    ) -> SignalingTarget:
        current = await self._store.get(conference.id)
        if current is not None and await self._usable(current, failed_server):
            return SignalingTarget(current.server_id, current.signaling_url, current.epoch)
        excluded = {current.server_id} if current is not None else set()
        expected = min(conference.max_participants, DEFAULT_EXPECTED)
        costs = PlacementCosts()
        load = estimate_load(expected, costs)
        snapshots = self._with_recent_placements(
            [s for s in self._registry.app_snapshots() if s.server_id not in excluded]
        )
        try:
            chosen = place_conference(
                snapshots,
                PlacementRequest(
                    expected_participants=expected,
                    now_s=self._clock_s(),
                    region=region,
                ),
                allow_overflow=True,
            )
        except NoServerAvailable as e:
            raise Unavailable(e.message) from e
        view = self._registry.get(chosen.server_id)
        url = view.heartbeat.signaling_url if view else ""
        placed = await self._store.place(
            Placement(conference.id, chosen.server_id, url),
            replacing=current,
            now=self._clock(),
        )
        self._recent.append((self._clock_s(), placed.server_id, expected))
        logger.info(
            "conference %s placed on %s (load after placing it, of %d live app servers: %s)",
            conference.id,
            placed.server_id,
            len(snapshots),
            ", ".join(
                f"{s.server_id[:8]} {s.status_at(self._clock_s()).value} {load_after(s, load, costs):.2f}"
                for s in snapshots
            ),
        )
        if current is not None and placed.server_id != current.server_id:
            logger.warning("conference %s moved from %s to %s", conference.id, current.server_id, placed.server_id)
            try:
                await self._bus.publish(
                    ConferenceMoved(
                        conference_id=conference.id,
                        from_server=current.server_id,
                        to_server=placed.server_id,
                        epoch=placed.epoch,
                    )
                )
            except Exception:  # statistics only: the move itself is done
                logger.warning("conference %s: could not announce its move", conference.id, exc_info=True)
        return SignalingTarget(placed.server_id, placed.signaling_url, placed.epoch)

    def _with_recent_placements(self, snapshots: list[ServerSnapshot]) -> list[ServerSnapshot]:
        now = self._clock_s()
        self._recent = [r for r in self._recent if now - r[0] < PENDING_WINDOW_S]
        costs = PlacementCosts()
        adjusted = []
        for snapshot in snapshots:
            pending = [expected for at, server, expected in self._recent if server == snapshot.server_id]
            if pending:
                # Every resource placement weighs: with bandwidth the fullest, counting only CPU would leave two
                # idle servers tied, and the tie always goes to the same one.
                loads = [estimate_load(n, costs) for n in pending]
                snapshot = replace(
                    snapshot,
                    participants=snapshot.participants + sum(pending),
                    cpu_use=snapshot.cpu_use + sum(load.cores for load in loads) / max(snapshot.cores, 1),
                    bandwidth_in_bps=snapshot.bandwidth_in_bps + sum(load.bps_in for load in loads),
                    bandwidth_out_bps=snapshot.bandwidth_out_bps + sum(load.bps_out for load in loads),
                )
            adjusted.append(snapshot)
        return adjusted

    async def _usable(self, placement: Placement, failed_server: str | None) -> bool:
        view = self._registry.get(placement.server_id)
        if failed_server == placement.server_id:
            return await self._answers(placement.server_id)
        if view is not None and view.status in (ServerStatus.UP, ServerStatus.DRAINING):
            return True
        if not self._registry.hears_the_cluster():
            # No heartbeats at all: the bus is away, not every server. Trust what was recorded.
            return True
        return view is not None and view.status is not ServerStatus.DOWN and await self._answers(placement.server_id)

    async def _answers(self, server_id: str) -> bool:
        try:
            await self._bus.request_to(server_id, Ping(), timeout_s=PING_TIMEOUT_S)
            return True
        except BusError:
            return False
