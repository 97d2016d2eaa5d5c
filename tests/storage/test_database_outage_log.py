"""A background loop logs a database outage once when it starts and once when it ends, and waits longer between
attempts while it lasts; other errors are left to the loop to log."""

from __future__ import annotations

import logging

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc

from veche.storage.unavailable import DatabaseOutageLog


def _outage() -> sa_exc.DBAPIError:
    driver = asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
    error = sa_exc.DBAPIError("SELECT * FROM sessions WHERE token = $1", ("secret-token",), driver)
    error.__cause__ = driver
    return error


def test_an_outage_is_logged_when_it_starts_and_when_it_ends(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="test.outage")
    log = DatabaseOutageLog(logging.getLogger("test.outage"), "call history")
    assert all(log.failed(_outage()) for _ in range(5))
    log.succeeded()
    log.succeeded()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "call history: the database is unavailable (CannotConnectNowError" in messages[0]
    assert "back after 5 failed attempts" in messages[1]
    assert "secret-token" not in caplog.text


def test_the_pause_grows_during_an_outage_and_ends_with_it() -> None:
    log = DatabaseOutageLog(logging.getLogger("test.outage"), "push queue", max_backoff_s=4)
    assert log.backoff_s() == 0
    pauses = []
    for _ in range(6):
        log.failed(_outage())
        pauses.append(log.backoff_s())
    assert pauses == [0.5, 1, 2, 4, 4, 4]
    log.succeeded()
    assert log.backoff_s() == 0


def test_other_errors_are_not_an_outage(caplog: pytest.LogCaptureFixture) -> None:
    log = DatabaseOutageLog(logging.getLogger("test.outage"), "mail queue")
    assert not log.failed(ValueError("a bug"))
    assert log.backoff_s() == 0
    assert caplog.records == []
