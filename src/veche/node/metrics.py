"""Load figures of this machine and process for heartbeats (psutil), as rates since the previous reading."""

from __future__ import annotations

import time

import psutil

from veche.bus.messages import ServerFigures

__all__ = ["FigureSampler"]


class FigureSampler:
    def __init__(self) -> None:
        self._process = psutil.Process()
        psutil.cpu_percent(None)  # the first call only starts the measurement
        self._last_net = psutil.net_io_counters()
        self._last_at = time.monotonic()

    def sample(self) -> ServerFigures:
        now = time.monotonic()
        net = psutil.net_io_counters()
        elapsed = max(now - self._last_at, 1e-3)
        figures = ServerFigures(
            cpu_use=psutil.cpu_percent(None) / 100.0,
            cores=psutil.cpu_count() or 1,
            memory_rss_bytes=self._process.memory_info().rss,
            memory_use=psutil.virtual_memory().percent / 100.0,
            net_in_bps=max(net.bytes_recv - self._last_net.bytes_recv, 0) * 8 / elapsed,
            net_out_bps=max(net.bytes_sent - self._last_net.bytes_sent, 0) * 8 / elapsed,
        )
        self._last_net, self._last_at = net, now
        return figures
