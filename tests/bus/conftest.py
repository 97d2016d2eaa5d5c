"""Throwaway ``nats-server`` instances for the NATS bus tests; skipped cleanly when it is not installed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from veche.dev.nats import NatsUnavailable, ThrowawayNats


def _start() -> ThrowawayNats:
    try:
        return ThrowawayNats.start()
    except NatsUnavailable as exc:
        pytest.skip(f"no throwaway NATS: {exc}")


@pytest.fixture(scope="session")
def nats_server() -> Iterator[ThrowawayNats]:
    """One ``nats-server`` for the whole session (tests must not stop it)."""
    server = _start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_nats_server() -> Iterator[ThrowawayNats]:
    """A ``nats-server`` for one test only: that test may kill and restart it."""
    server = _start()
    try:
        yield server
    finally:
        server.stop()
