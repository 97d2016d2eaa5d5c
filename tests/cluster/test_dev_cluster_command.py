"""`veche dev cluster` as an operator runs it: it comes up, and SIGTERM stops every process it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.support.eventually import eventually
from tests.support.net import MEDIA_NETWORK_REASON, has_media_network

pytestmark = [pytest.mark.janus, pytest.mark.postgres]


async def test_sigterm_stops_the_whole_dev_cluster(tmp_path: Path) -> None:
    if not has_media_network():
        pytest.skip(MEDIA_NETWORK_REASON)
    postgres_before = {p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"}
    out = (tmp_path / "out.log").open("wb")
    command = [sys.executable, "-m", "veche", "dev", "cluster", "--apps", "1", "--data-dir", str(tmp_path / "c")]
    proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:

        async def output() -> str:
            assert proc.poll() is None, (tmp_path / "out.log").read_text()
            return (tmp_path / "out.log").read_text()

        await eventually(output, lambda text: "Ctrl-C stops everything" in text, timeout=90, what="the cluster up")
        # pg_ctl starts PostgreSQL detached, so its processes are the ones that were not there before.
        postgres = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]
        started = psutil.Process(proc.pid).children(recursive=True)
        started += [p for p in postgres if p.pid not in postgres_before]
        names = {p.name() for p in started}
        assert {"janus", "nats-server", "postgres"} <= names, names

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0

        async def left_running() -> list[str]:
            return [p.name() for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]

        await eventually(left_running, lambda running: not running, timeout=15, what="every process to stop")
    finally:
        if proc.poll() is None:
            proc.kill()
        out.close()
