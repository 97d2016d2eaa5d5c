"""Looking at the cluster's components (the I/O of the components view; the states are domain/components.py).

- Processes: the server catalog joined with the heartbeats this server hears (:class:`ServerRegistry`), and the
  manager's leader lock when the database has one.
- Database: every host of ``database.url`` (``?host=a:p&host=b:p`` or the one host), each asked on its own
  short connection: ``pg_is_in_recovery()``, and ``pg_stat_replication`` on a primary or
  ``now() - pg_last_xact_replay_timestamp()`` on a standby. A host that does not answer within 2 s is down.
- NATS: every node the bus knows (configured and announced by the cluster), each checked with a TCP connection;
  with ``bus.monitor_url`` set, each node's ``/varz`` and ``/routez`` give its name and routes instead (matched to
  the bus's list by the client address ``/varz`` reports: a node listening on 0.0.0.0 shows as a separate row).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from veche.bus.base import Bus
from veche.domain.components import (
    Component,
    DatabaseHost,
    NatsNode,
    ProcessSeen,
    database_components,
    nats_components,
    process_components,
)
from veche.manager.leadership import LOCK_NAME
from veche.manager.registry import ServerRegistry
from veche.storage.cluster import ServerCatalogStore
from veche.storage.leader_lock import LockHolder, Takeover

__all__ = ["ComponentsView", "database_hosts", "probe_database", "probe_nats"]

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 2.0
MANAGER_LOCK = LOCK_NAME


class ComponentsView:
    """Everything :func:`components` needs, from the container of a web server."""

    def __init__(
        self,
        *,
        registry: ServerRegistry,
        catalog: ServerCatalogStore,
        bus: Bus,
        database_url: str,
        monitor_urls: Sequence[str],
        segment: str,
        leader_holder: Callable[[str], Awaitable[LockHolder | None]] | None = None,  # None: no lock to read
        takeovers: Callable[[str, int], Awaitable[list[Takeover]]] | None = None,  # the latest, newest first
    ) -> None:
        self._registry = registry
        self._catalog = catalog
        self._bus = bus
        self._database_url = database_url
        self._monitor_urls = list(monitor_urls)
        self._segment = segment
        self._leader_holder = leader_holder
        self._takeovers = takeovers

    async def components(self) -> list[Component]:
        processes, hosts, nodes = await asyncio.gather(
            self._processes(), probe_database(self._database_url), probe_nats(self._bus, self._monitor_urls)
        )
        connected = getattr(self._bus, "connected_server", None)
        return [
            *processes,
            *database_components(hosts, self._segment),
            *nats_components(nodes, connected if isinstance(connected, str) else None),
        ]

    async def _processes(self) -> list[Component]:
        live = {view.heartbeat.server_id: view for view in self._registry.servers()}
        seen = []
        for entry in await self._catalog.all():
            view = live.get(entry.id)
            if not entry.approved:
                announced = "pending"
            elif entry.draining:
                announced = "draining"
            else:
                announced = view.heartbeat.state if view else "up"
            hb = view.heartbeat if view else None
            seen.append(
                ProcessSeen(
                    server_id=entry.id,
                    name=entry.name,
                    roles=entry.roles,
                    region=entry.region,
                    address=(hb.signaling_url or f"{hb.host} (pid {hb.pid})") if hb else entry.host,
                    announced=announced,
                    last_seen_s=view.last_seen_s if view else None,
                )
            )
        return process_components(
            seen,
            now_s=time.time(),
            hears_cluster=self._registry.hears_the_cluster(),
            manager_holder=await self._manager_holder(),
            leader_note=await self._last_takeover(),
        )

    async def _last_takeover(self) -> str:
        if self._takeovers is None:
            return ""
        try:
            latest = await self._takeovers(MANAGER_LOCK, 1)
        except (SQLAlchemyError, OSError) as exc:
            logger.debug("reading the manager's take-overs: %r", exc)
            return ""
        if not latest:
            return ""
        t = latest[0]
        at = t.at.replace(tzinfo=t.at.tzinfo or UTC).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        if t.previous:
            return f"took over from {t.previous} at {at}, epoch {t.epoch}"
        return f"active since {at}, epoch {t.epoch}"

    async def _manager_holder(self) -> str | None:
        if self._leader_holder is None:
            return None
        try:
            holder = await self._leader_holder(MANAGER_LOCK)
        except (SQLAlchemyError, OSError) as exc:
            logger.debug("reading the manager's leader lock: %r", exc)
            return None
        if holder is None:
            return None  # no manager ever took the lock (no leadership running): every manager up is active
        if holder.expires_at.replace(tzinfo=holder.expires_at.tzinfo or UTC) < datetime.now(UTC):
            return ""  # the lock expired: no manager is active until a standby takes it
        return str(holder.holder).rsplit("@", 1)[-1]  # "<name>@<server id>" (manager/leadership.py)


def database_hosts(url: str) -> list[tuple[str, int]]:
    """The hosts of a PostgreSQL URL: every ``host=`` of its query, else its one host (default port 5432)."""
    parsed = make_url(url)
    query_hosts = parsed.query.get("host")
    listed = [query_hosts] if isinstance(query_hosts, str) else list(query_hosts or ())
    hosts = []
    for item in listed or [f"{parsed.host or 'localhost'}:{parsed.port or 5432}"]:
        host, _, port = item.rpartition(":") if ":" in item else (item, "", "")
        hosts.append((host, int(port) if port.isdigit() else parsed.port or 5432))
    return hosts


async def probe_database(url: str) -> list[DatabaseHost]:
    """Ask every host of ``url`` what it is; SQLite is one primary that is always there."""
    if url.startswith("sqlite"):
        return [DatabaseHost(address="sqlite", reachable=True, in_recovery=False, standbys=0)]
    parsed = make_url(url)
    return list(
        await asyncio.gather(
            *(
                _probe_host(host, port, parsed.username, parsed.password, parsed.database)
                for host, port in database_hosts(url)
            )
        )
    )


async def _probe_host(host: str, port: int, user: str | None, password: str | None, db: str | None) -> DatabaseHost:
    address = f"{host}:{port}"
    try:
        connection = await asyncpg.connect(
            host=host, port=port, user=user, password=password, database=db, timeout=PROBE_TIMEOUT_S
        )
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        # The error's class only: its message may name the user or the database.
        return DatabaseHost(address=address, reachable=False, error=f"does not answer ({type(exc).__name__})")
    try:
        in_recovery = bool(await connection.fetchval("SELECT pg_is_in_recovery()", timeout=PROBE_TIMEOUT_S))
        if in_recovery:
            lag = await connection.fetchval(
                "SELECT EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())", timeout=PROBE_TIMEOUT_S
            )
            return DatabaseHost(
                address=address, reachable=True, in_recovery=True, replay_lag_s=None if lag is None else float(lag)
            )
        standbys = await connection.fetchval("SELECT count(*) FROM pg_stat_replication", timeout=PROBE_TIMEOUT_S)
        return DatabaseHost(address=address, reachable=True, in_recovery=False, standbys=int(standbys or 0))
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return DatabaseHost(address=address, reachable=False, error=f"does not answer ({type(exc).__name__})")
    finally:
        try:
            await asyncio.wait_for(connection.close(), PROBE_TIMEOUT_S)
        except (OSError, TimeoutError, asyncpg.PostgresError):
            connection.terminate()


async def probe_nats(bus: Bus, monitor_urls: Sequence[str]) -> list[NatsNode]:
    """Every NATS node: from the monitoring endpoints when there are some, else by connecting to each."""
    known = getattr(bus, "known_servers", None)
    if not isinstance(known, list):
        return []  # the in-process bus of `veche up`: no NATS
    if monitor_urls:
        monitored = await asyncio.gather(*(asyncio.to_thread(_monitor, url) for url in monitor_urls))
        found = {node.address: node for node in monitored if node is not None}
        missing = [a for a in dict.fromkeys(str(a) for a in known) if a not in found]
        return [*found.values(), *(NatsNode(address=a, listening=False) for a in missing)]
    addresses = list(dict.fromkeys(str(a) for a in known))
    return list(await asyncio.gather(*(_listening(a) for a in addresses)))


async def _listening(address: str) -> NatsNode:
    host, _, port = address.rpartition(":")
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), PROBE_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError):
        return NatsNode(address=address, listening=False)
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), PROBE_TIMEOUT_S)
    except (OSError, TimeoutError):
        pass
    return NatsNode(address=address, listening=True)


def _monitor(url: str) -> NatsNode | None:
    """One node's /varz and /routez (blocking: run in a thread); None when it does not answer."""
    try:
        varz = _get_json(f"{url.rstrip('/')}/varz")
        routez = _get_json(f"{url.rstrip('/')}/routez")
    except (OSError, ValueError, urllib.error.URLError):
        return None
    address = f"{varz.get('host', '')}:{varz.get('port', '')}"
    return NatsNode(
        address=address, listening=True, name=str(varz.get("server_name", "")), routes=int(routez.get("num_routes", 0))
    )


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S) as response:  # noqa: S310 - configured http URL
        data = json.load(response)
    return data if isinstance(data, dict) else {}
