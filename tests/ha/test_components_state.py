"""The components view's states, from what was heard: processes by heartbeat, database hosts, NATS nodes."""

from __future__ import annotations

from veche.domain.components import (
    Component,
    ComponentState,
    DatabaseHost,
    NatsNode,
    ProcessSeen,
    database_components,
    nats_components,
    process_components,
)

NOW = 1_000_000.0


def _process(server_id: str, roles: list[str], seen: float | None, announced: str = "up") -> ProcessSeen:
    return ProcessSeen(
        server_id=server_id,
        name=server_id,
        roles=roles,
        region="eu",
        address="host-1 (pid 7)",
        announced=announced,
        last_seen_s=seen,
    )


def _by_name(rows: list[Component]) -> dict[str, tuple[str, bool, str]]:
    return {f"{r.kind}:{r.name}": (r.state.value, r.active, r.detail) for r in rows}


def test_a_process_is_up_until_it_misses_its_heartbeats() -> None:
    rows = process_components(
        [
            _process("web-1", ["web"], NOW - 0.5),
            _process("web-2", ["web"], NOW - 10),
            _process("app-1", ["app"], NOW - 0.5, announced="draining"),
            _process("app-2", ["app"], None),
        ],
        now_s=NOW,
        hears_cluster=True,
        manager_holder=None,
    )
    assert _by_name(rows) == {
        "web:web-1": ("up", True, ""),
        "web:web-2": ("down", False, ""),
        "app:app-1": ("up", False, "draining"),
        "app:app-2": ("down", False, ""),
    }


def test_an_observer_that_hears_nothing_calls_the_silent_ones_stale() -> None:
    rows = process_components(
        [_process("base-1", ["base"], NOW - 30)], now_s=NOW, hears_cluster=False, manager_holder=None
    )
    assert [(r.state, r.active) for r in rows] == [(ComponentState.STALE, False)]


def test_the_manager_holding_the_lock_is_the_active_one() -> None:
    processes = [_process("m-1", ["manager"], NOW - 0.2), _process("m-2", ["manager"], NOW - 0.2)]
    with_lock = process_components(processes, now_s=NOW, hears_cluster=True, manager_holder="m-2")
    assert _by_name(with_lock) == {"manager:m-1": ("up", False, "standby"), "manager:m-2": ("up", True, "leader")}
    noted = process_components(
        processes, now_s=NOW, hears_cluster=True, manager_holder="m-2", leader_note="took over from m-1"
    )
    assert [r.detail for r in noted] == ["standby", "leader; took over from m-1"]
    no_lock = process_components(processes, now_s=NOW, hears_cluster=True, manager_holder=None)
    assert [r.active for r in no_lock] == [True, True]
    expired = process_components(processes, now_s=NOW, hears_cluster=True, manager_holder="")
    assert [r.active for r in expired] == [False, False]


def test_an_all_in_one_server_is_one_component_per_role() -> None:
    rows = process_components(
        [_process("one", ["app", "web", "manager", "base"], NOW)], now_s=NOW, hears_cluster=True, manager_holder=None
    )
    assert [r.kind for r in rows] == ["manager", "base", "web", "app"]


def test_database_primary_is_active_standby_shows_its_lag_and_a_silent_host_is_down() -> None:
    rows = database_components(
        [
            DatabaseHost(address="db-1:5432", reachable=True, in_recovery=False, standbys=1),
            DatabaseHost(address="db-2:5432", reachable=True, in_recovery=True, replay_lag_s=0.25),
            DatabaseHost(address="db-3:5432", reachable=False, error="does not answer (TimeoutError)"),
        ],
        "eu",
    )
    assert [(r.role, r.state.value, r.active, r.detail) for r in rows] == [
        ("primary", "up", True, "1 standby connected"),
        ("standby", "up", False, "replication lag 0.2 s"),
        ("", "down", False, "does not answer (TimeoutError)"),
    ]
    assert rows[1].lag_s == 0.25 and all(r.segment == "eu" for r in rows)


def test_nats_nodes_that_listen_are_active_and_the_one_used_is_named() -> None:
    rows = nats_components(
        [
            NatsNode(address="127.0.0.1:4223", listening=False),
            NatsNode(address="127.0.0.1:4222", listening=True, name="nats-1", routes=2),
        ],
        connected="127.0.0.1:4222",
    )
    assert [(r.name, r.state.value, r.active, r.detail, r.segment) for r in rows] == [
        ("nats-1", "up", True, "this server is connected here, 2 routes", None),
        ("127.0.0.1:4223", "down", False, "", None),
    ]
