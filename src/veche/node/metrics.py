"""Load figures of this machine and process for heartbeats (psutil), as rates since the previous reading."""

from __future__ import annotations

import time

import psutil

from veche.bus.messages import ServerFigures

__all__ = ["FigureSampler"]

CHILDREN_REFRESH_S = 10.0  # a restarted Janus is counted again within this time


class FigureSampler:
    """CPU is this server's own: its process and children (Janus), as a share of all cores. On a machine
    running one server that is its load; on a machine running several (a dev cluster) each sees its own."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._children: list[psutil.Process] = []
        self._children_at = -CHILDREN_REFRESH_S
        self._cpu_seconds = self._tree_cpu_seconds()
        self._last_net = _link_bytes()
        self._last_at = time.monotonic()

    def sample(self) -> ServerFigures:
        now = time.monotonic()
        net = _link_bytes()
        elapsed = max(now - self._last_at, 1e-3)
        cores = psutil.cpu_count() or 1
        cpu_seconds = self._tree_cpu_seconds()
        figures = ServerFigures(
            cpu_use=min(max(cpu_seconds - self._cpu_seconds, 0.0) / elapsed / cores, 1.0),
            cores=cores,
            memory_rss_bytes=self._process.memory_info().rss,
            memory_use=psutil.virtual_memory().percent / 100.0,
            net_in_bps=max(net[0] - self._last_net[0], 0) * 8 / elapsed,
            net_out_bps=max(net[1] - self._last_net[1], 0) * 8 / elapsed,
        )
        self._last_net, self._last_at, self._cpu_seconds = net, now, cpu_seconds
        return figures

    def _tree_cpu_seconds(self) -> float:
        now = time.monotonic()
        if now - self._children_at > CHILDREN_REFRESH_S:  # walking /proc each second costs more than the rest
            self._children = self._process.children(recursive=True)
            self._children_at = now
        total = 0.0
        for process in [self._process, *self._children]:
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                continue
        return total


def _link_bytes() -> tuple[int, int]:
    """Bytes received and sent on the machine's network links: loopback traffic (the database, the bus, Janus's
    API on one machine) is not media and takes no link bandwidth, so it does not count."""
    received = sent = 0
    for name, counters in psutil.net_io_counters(pernic=True).items():
        if name == "lo" or name.startswith("lo:"):
            continue
        received += counters.bytes_recv
        sent += counters.bytes_sent
    return received, sent
