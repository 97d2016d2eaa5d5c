"""Fixtures for the media engine tests: a private-network check and a real Janus engine.

Tests marked ``janus`` start a real Janus and exchange media with it. Janus 1.1.2 never offers
loopback ICE candidates, so they need a non-loopback IPv4 address, and that address must belong to
a private network namespace (``scripts/netns-run``): they are skipped on a host network, where media
would use the machine's real interfaces.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psutil
import pytest

from veche.app.janus.engine import JanusMediaEngine
from veche.config.janus import JanusConfig

_OWN_MODULES = {"test_janus_process.py", "test_janus_engine.py"}


def private_media_network_problem() -> str | None:
    """Why real-Janus tests cannot run here, or None when this is a private namespace with IPv4."""
    try:
        routes = Path("/proc/net/route").read_text().splitlines()[1:]
    except OSError:
        return "cannot read /proc/net/route to tell whether this is a private network namespace"
    if any(len(fields) > 1 and fields[1] == "00000000" for fields in (line.split() for line in routes)):
        return (
            "this network namespace has a default route, so it is not the private test namespace; "
            "run `scripts/netns-run .venv/bin/pytest tests/app`"
        )
    addresses = [
        address.address
        for addresses in psutil.net_if_addrs().values()
        for address in addresses
        if address.family == socket.AF_INET and not address.address.startswith("127.")
    ]
    if not addresses:
        return (
            "no non-loopback IPv4 address (Janus 1.1.2 never uses loopback for ICE); "
            "run `scripts/netns-run .venv/bin/pytest tests/app`"
        )
    if shutil.which(JanusConfig().binary) is None:
        return "no Janus is installed (scripts/test builds one into /opt/veche/engine)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problem = private_media_network_problem()
    if problem is None:
        return
    skip = pytest.mark.skip(reason=problem)
    for item in items:
        if item.get_closest_marker("janus") is not None and Path(str(item.path)).name in _OWN_MODULES:
            item.add_marker(skip)


def janus_children() -> list[psutil.Process]:
    """Janus processes started by this test process (directly or not)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.name() == "janus" and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.fixture
def no_leaked_janus() -> Iterator[None]:
    """The test must leave no Janus running that it started (others' session-wide ones are fine)."""
    before = {proc.pid for proc in janus_children()}
    yield
    leaked = [proc for proc in janus_children() if proc.pid not in before]
    for proc in leaked:
        proc.kill()
    assert not leaked, f"Janus processes left running: {[p.pid for p in leaked]}"


@pytest.fixture
async def janus_engine(tmp_path: Path) -> AsyncIterator[JanusMediaEngine]:
    """A started :class:`JanusMediaEngine` running its own Janus child in ``tmp_path``."""
    engine = JanusMediaEngine(JanusConfig(restart_backoff_max_s=1.0), tmp_path)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()
