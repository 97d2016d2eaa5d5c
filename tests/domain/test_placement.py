from __future__ import annotations

import pytest

from veche.domain.errors import InvalidInput
from veche.domain.placement import (
    NoServerAvailable,
    PlacementCosts,
    PlacementRequest,
    estimate_load,
    place_conference,
)
from veche.domain.server_snapshot import ServerSnapshot, ServerStatus

NOW = 1000.0
GBIT = 1_000_000_000.0


def server(server_id: str, **kw: object) -> ServerSnapshot:
    """An idle 8-core, 1 Gbit/s app server in region "eu" that sent a heartbeat just now, with overrides."""
    fields: dict[str, object] = dict(
        server_id=server_id,
        region="eu",
        status=ServerStatus.UP,
        last_heartbeat_s=NOW - 0.5,
        cpu_use=0.0,
        cores=8,
        bandwidth_in_bps=0.0,
        bandwidth_out_bps=0.0,
        bandwidth_capacity_bps=GBIT,
        participants=0,
        max_participants=500,
        conferences=0,
    )
    fields.update(kw)
    return ServerSnapshot(**fields)  # type: ignore[arg-type]


def place(servers: list[ServerSnapshot], expected: int = 4, **kw: object) -> str:
    request = PlacementRequest(expected_participants=expected, now_s=NOW, **kw)  # type: ignore[arg-type]
    return place_conference(servers, request).server_id


def test_draining_server_gets_no_new_conference() -> None:
    assert place([server("a", status=ServerStatus.DRAINING), server("b", cpu_use=0.5)]) == "b"


def test_down_server_gets_no_conference() -> None:
    assert place([server("a", status=ServerStatus.DOWN), server("b", cpu_use=0.5)]) == "b"


def test_server_whose_heartbeats_stopped_is_down_whatever_it_said() -> None:
    assert place([server("a", last_heartbeat_s=NOW - 3.0), server("b", cpu_use=0.5)]) == "b"


def test_pending_server_gets_no_conference() -> None:
    assert place([server("a", status=ServerStatus.PENDING), server("b", cpu_use=0.5)]) == "b"


def test_region_of_the_first_participant_is_preferred() -> None:
    servers = [server("a", region="us"), server("b", region="eu", cpu_use=0.5)]
    assert place(servers, region="eu") == "b"
    assert place(servers, region="us") == "a"


def test_other_region_when_none_in_the_participants_region_fits() -> None:
    servers = [server("a", region="us"), server("b", region="eu", status=ServerStatus.DRAINING)]
    assert place(servers, region="eu") == "a"
    assert place(servers, region="asia") == "a"


def test_server_without_cpu_headroom_is_left_out() -> None:
    # 10 participants: 90 subscriptions x 0.45 % = 0.405 cores; on 8 cores 0.78 + 0.05 > 0.8 limit.
    assert place([server("a", cpu_use=0.78), server("b", cpu_use=0.79, cores=64)], expected=10) == "b"


def test_server_without_bandwidth_headroom_is_left_out() -> None:
    # 10 participants: 90 x 1.1 Mbit/s = 99 Mbit/s out; 720 + 99 > 800 Mbit/s (80 % of 1 Gbit/s).
    full_out = server("a", bandwidth_out_bps=720e6)
    full_in = server("b", bandwidth_in_bps=795e6)
    assert place([full_out, full_in, server("c", cpu_use=0.6)], expected=10) == "c"


def test_server_without_participant_capacity_is_left_out() -> None:
    assert place([server("a", participants=98, max_participants=100), server("b", cpu_use=0.6)]) == "b"


def test_least_loaded_after_placing_wins() -> None:
    servers = [
        server("a", cpu_use=0.40),
        server("b", cpu_use=0.20, bandwidth_out_bps=500e6),  # bandwidth is its fullest resource
        server("c", cpu_use=0.30),
    ]
    assert place(servers) == "c"


def test_ties_go_to_the_smallest_server_id() -> None:
    assert place([server("c"), server("a"), server("b")]) == "a"
    assert place([server("b"), server("a")]) == "a"


def test_running_conference_stays_on_its_server_even_when_busy_or_draining() -> None:
    servers = [server("a", cpu_use=0.99), server("b", status=ServerStatus.DRAINING), server("c")]
    assert place(servers, current_server_id="a") == "a"
    assert place(servers, current_server_id="b") == "b"


def test_running_conference_moves_when_its_server_is_down() -> None:
    servers = [server("a", status=ServerStatus.DOWN), server("b", last_heartbeat_s=NOW - 10), server("c")]
    assert place(servers, current_server_id="a") == "c"
    assert place(servers, current_server_id="b") == "c"
    assert place(servers, current_server_id="removed") == "c"


def test_no_server_says_why() -> None:
    servers = [
        server("a", status=ServerStatus.DOWN),
        server("b", last_heartbeat_s=NOW - 60),
        server("c", status=ServerStatus.DRAINING),
        server("d", status=ServerStatus.PENDING),
        server("e", cpu_use=0.95),
    ]
    with pytest.raises(NoServerAvailable) as caught:
        place(servers, expected=12)
    assert caught.value.message == (
        "No app server can take a conference of 12 participants: "
        "of 5 known, 2 down, 1 draining, 1 pending, 1 without headroom."
    )
    assert caught.value.code == "no_server_available"
    with pytest.raises(NoServerAvailable, match="No app server can take a conference of 1 participant: none"):
        place([], expected=1)


def test_cost_is_per_forwarded_subscription_and_can_be_capped() -> None:
    assert estimate_load(10, PlacementCosts()).cores == pytest.approx(90 * 0.0045)
    capped = estimate_load(100, PlacementCosts(max_feeds_per_participant=9))
    assert capped.bps_out == pytest.approx(900 * 1.1e6)
    assert capped.bps_in == pytest.approx(100 * 1.1e6)


def test_a_conference_expects_someone() -> None:
    with pytest.raises(InvalidInput):
        PlacementRequest(expected_participants=0, now_s=NOW)


def test_overflow_takes_the_least_full_live_server_when_allowed() -> None:
    busy = [
        server("a", cpu_use=0.99),
        server("b", cpu_use=0.95),
        server("c", status=ServerStatus.DRAINING),
    ]
    request = PlacementRequest(expected_participants=8, now_s=NOW)
    with pytest.raises(NoServerAvailable, match="without headroom"):
        place_conference(busy, request)
    assert place_conference(busy, request, allow_overflow=True).server_id == "b"
    with pytest.raises(NoServerAvailable):
        place_conference([server("c", status=ServerStatus.DRAINING)], request, allow_overflow=True)
