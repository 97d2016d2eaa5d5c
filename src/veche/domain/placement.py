"""Which app server a conference runs on: a pure function over a snapshot of the servers.

Rules, in order:
1. A running conference stays on its server unless that server is down (draining servers keep theirs,
   and a conference cannot be split without cascading).
2. Only servers that are up (status ``up`` and heartbeats arriving) take a new conference: pending,
   draining and down servers never do.
3. A server takes it only with headroom for the whole expected conference: CPU, bandwidth in and out
   (under their limits after placing) and participant capacity, estimated with :class:`PlacementCosts`.
4. Servers in the region of the first participant come first; any other region is the fallback.
5. Among those, the least loaded after placing wins (the most headroom left); ties go to the smallest id.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from veche.domain.errors import DomainError, InvalidInput
from veche.domain.server_snapshot import ServerSnapshot, ServerStatus

__all__ = [
    "ConferenceLoad",
    "NoServerAvailable",
    "PlacementCosts",
    "PlacementRequest",
    "estimate_load",
    "load_after",
    "place_conference",
]


class NoServerAvailable(DomainError):
    """No app server can take the conference; the message counts why each server was left out."""

    code = "no_server_available"


@dataclass(frozen=True, slots=True)
class PlacementCosts:
    """What a conference is expected to cost its app server, and how full a server may get.

    Defaults are Janus 1.1.2 as measured (../shared/PEERS.md): ~0.45 % of one core and ~1.1 Mbit/s per
    forwarded audio+video subscription. Every participant publishes one stream (``bps_in_per_participant``)
    and receives every other one, unless ``max_feeds_per_participant`` caps that (set it when the client
    limits the feeds it shows); so cost grows with N x (N - 1).
    """

    cores_per_subscription: float = 0.0045
    bps_out_per_subscription: float = 1_100_000.0
    bps_in_per_participant: float = 1_100_000.0
    max_feeds_per_participant: int | None = None
    cpu_limit: float = 0.8  # share of all cores; the rest absorbs bursts and the control plane
    bandwidth_limit: float = 0.8  # share of the link in each direction


@dataclass(frozen=True, slots=True, kw_only=True)
class PlacementRequest:
    """A conference to place: its expected size, where its first participant is, where it runs now."""

    expected_participants: int
    now_s: float
    region: str | None = None
    current_server_id: str | None = None  # set once the conference runs somewhere

    def __post_init__(self) -> None:
        if self.expected_participants < 1:
            raise InvalidInput(f"A conference expects at least 1 participant, not {self.expected_participants}.")


@dataclass(frozen=True, slots=True)
class ConferenceLoad:
    """The estimated cost of one conference on its server."""

    cores: float
    bps_in: float
    bps_out: float
    participants: int


def estimate_load(expected_participants: int, costs: PlacementCosts) -> ConferenceLoad:
    feeds = expected_participants - 1
    if costs.max_feeds_per_participant is not None:
        feeds = min(feeds, costs.max_feeds_per_participant)
    subscriptions = expected_participants * feeds
    return ConferenceLoad(
        cores=subscriptions * costs.cores_per_subscription,
        bps_in=expected_participants * costs.bps_in_per_participant,
        bps_out=subscriptions * costs.bps_out_per_subscription,
        participants=expected_participants,
    )


def load_after(server: ServerSnapshot, load: ConferenceLoad, costs: PlacementCosts) -> float:
    """How full ``server`` would be with ``load`` on it: its fullest resource, 1.0 meaning at its limit."""
    cpu_limit = server.cores * costs.cpu_limit
    bandwidth_limit = server.bandwidth_capacity_bps * costs.bandwidth_limit
    if cpu_limit <= 0 or bandwidth_limit <= 0 or server.max_participants <= 0:
        return math.inf  # a server reporting no capacity takes nothing
    return max(
        (server.cpu_use * server.cores + load.cores) / cpu_limit,
        (server.bandwidth_in_bps + load.bps_in) / bandwidth_limit,
        (server.bandwidth_out_bps + load.bps_out) / bandwidth_limit,
        (server.participants + load.participants) / server.max_participants,
    )


def place_conference(
    servers: Sequence[ServerSnapshot],
    request: PlacementRequest,
    costs: PlacementCosts | None = None,
    *,
    allow_overflow: bool = False,
) -> ServerSnapshot:
    """The server the conference runs on, or :class:`NoServerAvailable` saying why none can.

    With ``allow_overflow``, when every live server lacks headroom the least full one is chosen anyway
    (a crowded meeting is better than none); down, draining and pending servers are still never chosen.
    """
    costs = costs or PlacementCosts()
    if request.current_server_id is not None:
        for server in servers:
            if server.server_id == request.current_server_id and server.status_at(request.now_s) in (
                ServerStatus.UP,
                ServerStatus.DRAINING,
            ):
                return server

    load = estimate_load(request.expected_participants, costs)
    left_out: Counter[ServerStatus] = Counter()
    without_headroom = 0
    best_here: tuple[float, str, ServerSnapshot] | None = None
    best_elsewhere: tuple[float, str, ServerSnapshot] | None = None
    least_full: tuple[float, str, ServerSnapshot] | None = None
    for server in servers:
        status = server.status_at(request.now_s)
        if status is not ServerStatus.UP:
            left_out[status] += 1
            continue
        fullness = load_after(server, load, costs)
        candidate = (fullness, server.server_id, server)
        if fullness > 1.0:
            without_headroom += 1
            if least_full is None or candidate[:2] < least_full[:2]:
                least_full = candidate
            continue
        if request.region is None or server.region == request.region:
            if best_here is None or candidate[:2] < best_here[:2]:
                best_here = candidate
        elif best_elsewhere is None or candidate[:2] < best_elsewhere[:2]:
            best_elsewhere = candidate

    best = best_here or best_elsewhere or (least_full if allow_overflow else None)
    if best is None:
        raise NoServerAvailable(_explain(len(servers), left_out, without_headroom, request))
    return best[2]


def _explain(known: int, left_out: Counter[ServerStatus], without_headroom: int, request: PlacementRequest) -> str:
    plural = "s" if request.expected_participants > 1 else ""
    size = f"a conference of {request.expected_participants} participant{plural}"
    if known == 0:
        return f"No app server can take {size}: none is registered."
    counts = [(left_out[s], s.value) for s in (ServerStatus.DOWN, ServerStatus.DRAINING, ServerStatus.PENDING)]
    counts.append((without_headroom, "without headroom"))
    reasons = ", ".join(f"{count} {reason}" for count, reason in counts if count)
    return f"No app server can take {size}: of {known} known, {reasons}."
