"""The components of a cluster and their state, as the console shows them: each Veche process by role, each
database host, each NATS node; which is up and which is the active one. Pure: every input passed in.

States: ``up``; ``down`` (a process that missed its heartbeats, a host or node that does not answer);
``stale`` (the observer hears no heartbeat at all, not even its own: its view of the processes is out of date,
which says nothing about them). A pending or draining process is up but not active.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from veche.domain.liveness import is_alive

__all__ = [
    "ROLES",
    "Component",
    "ComponentState",
    "DatabaseHost",
    "NatsNode",
    "ProcessSeen",
    "database_components",
    "nats_components",
    "process_components",
]

ROLES = ("manager", "base", "web", "app")


class ComponentState(enum.StrEnum):
    UP = "up"
    DOWN = "down"
    STALE = "stale"


@dataclass(frozen=True, kw_only=True)
class Component:
    """One row of the components view. ``segment`` is a region; None for what every segment shares (NATS)."""

    kind: str  # "manager" | "base" | "web" | "app" | "database" | "nats"
    name: str
    segment: str | None
    address: str
    state: ComponentState
    active: bool
    role: str = ""  # database: "primary" | "standby" | ""; NATS: "" ; processes: the role again
    detail: str = ""  # human words: "draining", "replication lag 0.2 s", "2 routes", ...
    server_id: str = ""
    lag_s: float | None = None  # database standbys: how far behind the primary


@dataclass(frozen=True, kw_only=True)
class ProcessSeen:
    """A server of the catalog with what its last heartbeat said (``last_seen_s`` None: never heard of)."""

    server_id: str
    name: str
    roles: Sequence[str]
    region: str
    address: str
    announced: str  # the state it last announced, or the catalog's: "pending" | "up" | "draining"
    last_seen_s: float | None


def process_components(
    processes: Iterable[ProcessSeen],
    *,
    now_s: float,
    hears_cluster: bool,
    manager_holder: str | None,
    leader_note: str = "",
) -> list[Component]:
    """One component per role of each process. ``manager_holder``: the server holding the manager's leader
    lock, or None when there is no lock to read (then every manager that is up counts as active).
    ``leader_note``: words on the last take-over, added to the active manager's detail."""
    rows = []
    for p in processes:
        alive = p.last_seen_s is not None and is_alive(p.last_seen_s, now_s)
        if alive:
            state = ComponentState.UP
        else:
            state = ComponentState.DOWN if hears_cluster else ComponentState.STALE
        working = state is ComponentState.UP and p.announced == "up"
        for role in sorted(set(p.roles) & set(ROLES), key=ROLES.index):
            if role == "manager" and manager_holder is not None:
                active = working and p.server_id == manager_holder
            else:
                active = working
            detail = p.announced if state is ComponentState.UP and p.announced != "up" else ""
            if role == "manager" and manager_holder is not None and state is ComponentState.UP:
                detail = detail or ("leader" if active else "standby")
                if active and leader_note:
                    detail = f"{detail}; {leader_note}"
            rows.append(
                Component(
                    kind=role,
                    name=p.name,
                    segment=p.region,
                    address=p.address,
                    state=state,
                    active=active,
                    role=role,
                    detail=detail,
                    server_id=p.server_id,
                )
            )
    return sorted(rows, key=lambda c: (c.segment or "", ROLES.index(c.kind), c.name))


@dataclass(frozen=True, kw_only=True)
class DatabaseHost:
    """What asking one host of ``database.url`` gave: ``reachable`` False when it did not answer."""

    address: str
    reachable: bool
    in_recovery: bool | None = None  # pg_is_in_recovery()
    replay_lag_s: float | None = None  # a standby: now() - pg_last_xact_replay_timestamp()
    standbys: int | None = None  # a primary: rows of pg_stat_replication
    error: str = ""


def database_components(hosts: Iterable[DatabaseHost], segment: str) -> list[Component]:
    """The database hosts of a segment: the one primary is active; standbys show their replication lag."""
    rows = []
    for h in hosts:
        if not h.reachable:
            rows.append(
                Component(
                    kind="database",
                    name=h.address,
                    segment=segment,
                    address=h.address,
                    state=ComponentState.DOWN,
                    active=False,
                    detail=h.error or "does not answer",
                )
            )
            continue
        primary = h.in_recovery is False
        if primary:
            detail = f"{h.standbys} standby connected" if h.standbys == 1 else f"{h.standbys or 0} standbys connected"
        else:
            detail = "replication lag unknown" if h.replay_lag_s is None else f"replication lag {h.replay_lag_s:.1f} s"
        rows.append(
            Component(
                kind="database",
                name=h.address,
                segment=segment,
                address=h.address,
                state=ComponentState.UP,
                active=primary,
                role="primary" if primary else "standby",
                detail=detail,
                lag_s=None if primary else h.replay_lag_s,
            )
        )
    return rows


@dataclass(frozen=True, kw_only=True)
class NatsNode:
    """One NATS server: ``listening`` from a connection attempt or its monitoring endpoint."""

    address: str  # host:port of its client port
    listening: bool
    name: str = ""
    routes: int | None = None  # from /routez when it has a monitoring port


def nats_components(nodes: Iterable[NatsNode], connected: str | None) -> list[Component]:
    """The NATS nodes: every node that runs is active (a full mesh); the one this server uses is named."""
    rows = []
    for n in sorted(nodes, key=lambda n: n.address):
        details = []
        if n.address == connected:
            details.append("this server is connected here")
        if n.routes is not None and n.listening:
            details.append("1 route" if n.routes == 1 else f"{n.routes} routes")
        rows.append(
            Component(
                kind="nats",
                name=n.name or n.address,
                segment=None,
                address=n.address,
                state=ComponentState.UP if n.listening else ComponentState.DOWN,
                active=n.listening,  # a full mesh: every node that runs carries traffic
                detail=", ".join(details),
            )
        )
    return rows
