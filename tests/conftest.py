"""Fixtures shared by every test: a throwaway PostgreSQL and the real ``veche up``.

Tests marked ``janus`` exchange media with Janus and need a non-loopback IPv4 address; outside the
network namespace that ``scripts/test`` makes they are skipped with the reason.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# `tests.support` is imported by its absolute name (bench/ uses it too): make the repository importable.
_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from tests.support.net import MEDIA_NETWORK_REASON, has_media_network  # noqa: E402
from tests.support.server import VecheServer  # noqa: E402
from veche.dev.postgres import PostgresUnavailable, ThrowawayPostgres  # noqa: E402


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if has_media_network():
        return
    skip_media = pytest.mark.skip(reason=MEDIA_NETWORK_REASON)
    for item in items:
        if item.get_closest_marker("janus") is not None:
            item.add_marker(skip_media)


@pytest.fixture
def media_network() -> None:
    """Skip the test unless media can flow (a non-loopback IPv4 address exists)."""
    if not has_media_network():
        pytest.skip(MEDIA_NETWORK_REASON)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql+asyncpg://`` URL of an empty database on a PostgreSQL started for this session."""
    try:
        server = ThrowawayPostgres.start()
    except PostgresUnavailable as exc:
        pytest.skip(f"no throwaway PostgreSQL: {exc}")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def veche_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VecheServer]:
    """The real ``veche up`` (all roles, its own Janus) on 127.0.0.1 with a first administrator.

    Attributes: ``url``, ``data_dir``, ``log_path``, ``admin_password``, ``admin_token``;
    methods: ``api(method, path, token=None, json=None)``, ``janus_pid()``.
    """
    server = VecheServer.start(root=tmp_path_factory.mktemp("veche-server"))
    try:
        yield server
    finally:
        server.stop()
