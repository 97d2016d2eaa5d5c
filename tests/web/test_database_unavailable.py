"""A database that is down or switching over answers 503 with Retry-After and a plain message, never 500; real bugs
stay 500. The connection errors are real ones (a refused connection to a closed port through SQLAlchemy + asyncpg)
or the driver's own exception classes, wrapped the way SQLAlchemy wraps them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from veche.bus.base import NoResponder
from veche.bus.nats import BusDisconnected
from veche.dev.ports import free_tcp_port
from veche.domain.errors import Unavailable
from veche.storage.unavailable import database_unavailable
from veche.web.errors import install_error_handlers

MESSAGE = "The database is switching over; try again in a few seconds."


async def _refused() -> None:
    """What a request meets when PostgreSQL is killed: the pool cannot connect (ConnectionRefusedError)."""
    engine = create_async_engine(f"postgresql+asyncpg://veche@127.0.0.1:{free_tcp_port()}/veche")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


async def _connect_times_out() -> None:
    """A host that accepts the connection and never answers (a hung machine): asyncpg's connect timeout."""

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    engine = create_async_engine(f"postgresql+asyncpg://veche@127.0.0.1:{port}/veche", connect_args={"timeout": 0.2})
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
        server.close()


def _wrapped(driver_error: Exception, *, invalidated: bool = False) -> sa_exc.DBAPIError:
    """A driver error as SQLAlchemy raises it from a statement."""
    error = sa_exc.DBAPIError("INSERT INTO chat_messages ...", {"text": "secret"}, driver_error)
    error.connection_invalidated = invalidated
    error.__cause__ = driver_error
    return error


def _raiser(error: Exception) -> Callable[[], Awaitable[None]]:
    async def raise_it() -> None:
        raise error

    return raise_it


ROUTES: dict[str, Callable[[], Awaitable[None]]] = {
    "refused": _refused,
    "connect_timeout": _connect_times_out,
    "invalidated": _raiser(_wrapped(asyncpg.InterfaceError("connection is closed"), invalidated=True)),
    "read_only": _raiser(_wrapped(asyncpg.exceptions.ReadOnlySQLTransactionError("read-only transaction"))),
    "starting_up": _raiser(asyncpg.exceptions.CannotConnectNowError("the database system is starting up")),
    "no_primary": _raiser(asyncpg.TargetServerAttributeNotMatched("none of the hosts is read-write")),
    "pool_timeout": _raiser(sa_exc.TimeoutError("QueuePool limit reached")),
    "bus_unavailable": _raiser(Unavailable("No base server answers. Try again in a moment.")),
    "bus_disconnected": _raiser(BusDisconnected("NATS connection lost while waiting for an answer")),
    "no_responder": _raiser(NoResponder("conference.7")),
    # Bugs, not outages:
    "own_refused": _raiser(ConnectionRefusedError(111, "not the database")),
    "unique": _raiser(_wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key"))),
    "missing_file": _raiser(FileNotFoundError(2, "no such file")),
}


def _client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    for name, handler in ROUTES.items():
        app.add_api_route(f"/api/v1/{name}", handler, methods=["POST"])
        app.add_api_route(f"/page/{name}", handler, methods=["GET"])
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client() -> TestClient:
    return _client()


@pytest.mark.parametrize(
    "name", ["refused", "connect_timeout", "invalidated", "read_only", "starting_up", "no_primary", "pool_timeout"]
)
def test_the_api_answers_503_with_retry_after_and_a_plain_message(client: TestClient, name: str) -> None:
    answer = client.post(f"/api/v1/{name}")
    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) > 0
    assert answer.json() == {"error": {"code": "unavailable", "message": MESSAGE}}


def test_a_page_gets_a_plain_page_saying_to_try_again(client: TestClient) -> None:
    answer = client.get("/page/refused", headers={"Accept": "text/html,application/xhtml+xml"})
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("text/html")
    assert int(answer.headers["Retry-After"]) > 0
    assert MESSAGE in answer.text


def test_every_503_says_when_to_try_again(client: TestClient) -> None:
    answer = client.post("/api/v1/bus_unavailable")
    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) > 0
    assert answer.json()["error"]["code"] == "unavailable"


def test_a_bus_reconnecting_to_another_node_is_503_not_500(client: TestClient) -> None:
    answer = client.post("/api/v1/bus_disconnected")
    assert answer.status_code == 503 and int(answer.headers["Retry-After"]) > 0
    assert answer.json()["error"] == {
        "code": "unavailable",
        "message": "A server this request needs does not answer right now; try again in a few seconds.",
    }
    assert client.post("/api/v1/no_responder").status_code == 404  # "not running" keeps its own answer


@pytest.mark.parametrize("name", ["own_refused", "unique", "missing_file"])
def test_other_errors_stay_server_errors(client: TestClient, name: str) -> None:
    assert client.post(f"/api/v1/{name}").status_code == 500


def test_an_outage_is_logged_once_without_the_statement_or_its_parameters(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="veche.web.errors")
    client = _client()
    client.post("/api/v1/read_only")
    client.post("/api/v1/invalidated")
    assert "read-only transaction" in caplog.text
    assert len(caplog.records) == 1
    assert "secret" not in caplog.text
    assert "INSERT" not in caplog.text


def test_a_refused_connection_elsewhere_is_no_database_outage() -> None:
    assert not database_unavailable(ConnectionRefusedError(111, "refused"))
    assert not database_unavailable(ValueError("x"))
