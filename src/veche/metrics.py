"""This server's Prometheus metrics (``GET /metrics``, docs/operations.md "Metrics"): every name and its meaning.

Nothing here is counted on the hot paths by prometheus_client: the join path bumps plain integers in the objects
it already touches (:class:`~veche.app.service.AppService`, :class:`~veche.domain.leases.SeatLease`), the bus and
the HTTP edge add to a :class:`DurationHistogram` (a bisect and two additions, no lock: everything runs on one
event loop), and a scrape reads that live state and turns it into metric families. Each container has its own
:class:`ServerMetrics` with its own registry, so several servers in one Python process (the tests) never meet.

No label carries a conference, a user or a server name: labels are pools, protocol error codes, bus subjects,
HTTP methods and route templates, each a short fixed list.

Layering: ``web/`` serves it, ``container.py`` wires the sources per role, ``bus/`` records round trips here;
``domain/`` never imports it. The app and manager types are named for typing only.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from veche.domain.server_snapshot import ServerStatus

if TYPE_CHECKING:
    from veche.app.license_seats import LicenseSeats
    from veche.app.service import AppService
    from veche.manager.license_pool import LicensePool
    from veche.manager.registry import ServerRegistry

__all__ = [
    "BUS_BUCKETS_S",
    "BusRoundTrips",
    "CONTENT_TYPE",
    "HTTP_BUCKETS_S",
    "DurationHistogram",
    "MetricSource",
    "ServerMetrics",
    "app_metrics",
    "bus_metrics",
    "cluster_metrics",
    "license_pool_metrics",
    "license_seat_metrics",
]

# Every name is a classic one: the text format every Prometheus version reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Bus requests on a LAN take a millisecond or so; a timeout is seconds (counted as a failure, not here).
BUS_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
HTTP_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# A scrape's live figures: awaited (the media engine's state is read through an async call) when scraped.
MetricSource = Callable[[], Awaitable[Iterable[Metric]]]


class DurationHistogram:
    """Durations by a fixed tuple of label values, in fixed buckets: cheap enough for every request."""

    def __init__(self, bounds_s: Sequence[float], *, max_series: int = 500) -> None:
        self.bounds_s = tuple(bounds_s)
        # Beyond this many label sets (a bug, never the design) further ones are counted as "other".
        self.max_series = max_series
        # label values -> (count per bucket, the last one for values above every bound; [sum of the seconds])
        self._series: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}

    def observe(self, labels: tuple[str, ...], seconds: float) -> None:
        series = self._series.get(labels)
        if series is None and len(self._series) >= self.max_series:
            labels = tuple("other" for _ in labels)
            series = self._series.get(labels)
        if series is None:
            series = self._series[labels] = ([0] * (len(self.bounds_s) + 1), [0.0])
        series[0][bisect_left(self.bounds_s, seconds)] += 1  # Prometheus buckets hold values <= their bound
        series[1][0] += seconds

    def family(self, name: str, documentation: str, label_names: Sequence[str]) -> HistogramMetricFamily:
        family = HistogramMetricFamily(name, documentation, labels=list(label_names))
        for labels, (counts, total) in sorted(self._series.items()):
            running, buckets = 0, []
            for bound, count in zip([*self.bounds_s, float("inf")], counts, strict=True):
                running += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
            family.add_metric(list(labels), buckets, total[0])
        return family


class BusRoundTrips:
    """Requests one bus sent: the round trip of those answered, and the failures by subject and reason."""

    def __init__(self) -> None:
        self.durations = DurationHistogram(BUS_BUCKETS_S)
        self.failures: dict[tuple[str, str], int] = {}

    def answered(self, subject: str, seconds: float) -> None:
        self.durations.observe((subject,), seconds)

    def failed(self, subject: str, reason: str) -> None:
        self.failures[subject, reason] = self.failures.get((subject, reason), 0) + 1


class ServerMetrics(Collector):
    """The metrics one server shows: its roles' live figures (sources added by the container), its HTTP latency
    (:attr:`http`, measured by the web edge) and its process (CPU, memory, open files)."""

    def __init__(self, *, version: str, roles: Sequence[str]) -> None:
        self.http = DurationHistogram(HTTP_BUCKETS_S)
        self._version, self._roles = version, ",".join(roles)
        self._sources: list[MetricSource] = []
        self._scraped: list[Metric] = []
        self._registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(namespace="veche", registry=self._registry)
        self._registry.register(self)

    def add_source(self, source: MetricSource) -> None:
        self._sources.append(source)

    async def render(self) -> bytes:
        """The text exposition of everything, read now."""
        scraped: list[Metric] = [
            _gauge("veche_build_info", "This server's version and roles.", 1, version=self._version, roles=self._roles)
        ]
        for source in self._sources:
            scraped.extend(await source())
        scraped.append(
            self.http.family(
                "veche_http_request_duration_seconds",
                "HTTP requests served, by method and route template, until the response was sent.",
                ("method", "route"),
            )
        )
        # Set and read without an await between: a concurrent scrape cannot mix its figures in.
        self._scraped = scraped
        try:
            return generate_latest(self._registry)
        finally:
            self._scraped = []

    def collect(self) -> Iterable[Metric]:
        return list(self._scraped)


# -- the roles' figures ---------------------------------------------------------------------------------------


async def app_metrics(service: AppService) -> list[Metric]:
    """An app server: its conferences and participants, the joins it admitted and refused, its media engine."""
    conferences, participants = service.figures()
    info = await service.engine.info()
    refused = CounterMetricFamily(
        "veche_joins_refused", "Joins this server refused, by the protocol's error code.", labels=["reason"]
    )
    for reason, count in sorted(service.refused_joins.items()):
        refused.add_metric([reason], count)
    return [
        _gauge("veche_conferences", "Conferences running on this server.", conferences),
        _gauge("veche_participants", "Participants connected to this server's conferences.", participants),
        CounterMetricFamily("veche_joins_admitted", "Joins this server admitted.", value=service.admitted_joins),
        refused,
        _gauge("veche_media_engine_up", "1 while the media engine answers requests, else 0.", int(info.up)),
        CounterMetricFamily(
            "veche_media_engine_restarts",
            "Times the media engine came back after dying (each one a media_reset to every conference).",
            value=max(info.epoch - 1, 0),
        ),
        _gauge(
            "veche_media_engine_info", "The media engine's name and version.", 1, engine=info.name, version=info.version
        ),
    ]


def license_seat_metrics(seats: LicenseSeats) -> list[Metric]:
    """An app server's side of the license pools: the slots leased to it, those in use, admissions, refusals."""
    now = time.monotonic()
    slots = GaugeMetricFamily("veche_license_lease_slots", "Slots of the pool leased to this server.", labels=["pool"])
    in_use = GaugeMetricFamily(
        "veche_license_seats_in_use", "Slots of the pool this server's connections hold.", labels=["pool"]
    )
    live = GaugeMetricFamily(
        "veche_license_lease_live", "1 while this server's lease of the pool is valid.", labels=["pool"]
    )
    admitted = CounterMetricFamily(
        "veche_license_admissions", "Slots of the pool taken by joins here.", labels=["pool"]
    )
    refused = CounterMetricFamily(
        "veche_license_refusals", "Joins refused here because the pool had no slot.", labels=["pool"]
    )
    for pool, lease in seats.leases.items():
        slots.add_metric([pool.value], lease.slots)
        in_use.add_metric([pool.value], lease.in_use)
        live.add_metric([pool.value], int(lease.live(now)))
        admitted.add_metric([pool.value], lease.admitted)
        refused.add_metric([pool.value], lease.refusals)
    reachable = _gauge(
        "veche_license_manager_reachable",
        "1 when the last lease renewal reached the manager.",
        int(seats.manager_reachable),
    )
    return [slots, in_use, live, admitted, refused, reachable]


def license_pool_metrics(pool: LicensePool) -> list[Metric]:
    """The manager: each pool's size (absent when unlimited), slots leased to all servers, in use and free."""
    size = GaugeMetricFamily(
        "veche_license_pool_size", "The license's slots in the pool (absent: unlimited).", labels=["pool"]
    )
    leased = GaugeMetricFamily(
        "veche_license_pool_leased", "Slots of the pool leased to all app servers.", labels=["pool"]
    )
    in_use = GaugeMetricFamily(
        "veche_license_pool_in_use", "Slots of the pool in use on all app servers.", labels=["pool"]
    )
    free = GaugeMetricFamily(
        "veche_license_pool_free", "Slots of the pool nobody holds (absent: unlimited).", labels=["pool"]
    )
    for report in pool.report():
        name = report.pool.value
        leased.add_metric([name], sum(report.leased.values()))
        in_use.add_metric([name], report.in_use)
        if report.total is not None:
            size.add_metric([name], report.total)
        if report.free is not None:
            free.add_metric([name], report.free)
    return [size, leased, in_use, free]


def cluster_metrics(registry: ServerRegistry) -> list[Metric]:
    """The manager: the servers it knows, by status (every status shown, 0 when none)."""
    counts = dict.fromkeys((status.value for status in ServerStatus), 0)
    for view in registry.servers():
        counts[view.status.value] = counts.get(view.status.value, 0) + 1
    servers = GaugeMetricFamily("veche_cluster_servers", "Servers the manager knows, by status.", labels=["status"])
    for status, count in sorted(counts.items()):
        servers.add_metric([status], count)
    return [servers]


def bus_metrics(round_trips: BusRoundTrips) -> list[Metric]:
    """Requests this server sent over the bus: round trips answered, and those that failed."""
    failed = CounterMetricFamily(
        "veche_bus_request_failures",
        "Bus requests sent from here that got no answer (no_responder: nobody answered in time; error: the "
        "handler failed or answered with another class).",
        labels=["subject", "reason"],
    )
    for (subject, reason), count in sorted(round_trips.failures.items()):
        failed.add_metric([subject, reason], count)
    rtt = round_trips.durations.family(
        "veche_bus_request_duration_seconds", "Round trip of bus requests sent from here and answered.", ("subject",)
    )
    return [rtt, failed]


def _gauge(name: str, documentation: str, value: float, **labels: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=list(labels))
    family.add_metric(list(labels.values()), value)
    return family
