"""Maps named errors to HTTP status codes and one JSON shape: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging
import time

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException

from veche.base.directory.server import DirectoryError, DirectoryUnavailable
from veche.bus.base import BusError, NoResponder
from veche.domain.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unavailable,
)
from veche.storage.unavailable import database_unavailable

__all__ = ["install_error_handlers", "error_body", "database_unavailable_response"]

logger = logging.getLogger(__name__)

STATUS: dict[type[DomainError], int] = {
    InvalidInput: 400,
    AuthenticationFailed: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
    DirectoryUnavailable: 503,
    DirectoryError: 502,
    Unavailable: 503,
}


# Errors raised by the framework itself (an unknown path, a method not allowed, a body that is not UTF-8 JSON).
HTTP_CODES: dict[int, str] = {
    400: "invalid_input",
    401: "authentication_failed",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "rate_limited",
}

_BODY_NOT_PARSED = "There was an error parsing the body"
_NOT_JSON = "Invalid request. The body is not valid JSON (UTF-8)."


# The database is down or switching over (a Patroni failover takes ~10 s): 503 and a time to retry, never a 500.
DATABASE_RETRY_AFTER_S = 5
DATABASE_UNAVAILABLE_MESSAGE = "The database is switching over; try again in a few seconds."
_DATABASE_ERRORS = (
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.TargetServerAttributeNotMatched,
    OSError,
)
_DATABASE_PAGE = (
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>Try again in a few seconds</title></head>"
    f"<body><h1>Try again in a few seconds</h1><p>{DATABASE_UNAVAILABLE_MESSAGE}</p></body></html>"
)
_LOG_EVERY_S = 30.0
# A bus request that failed (its NATS node died and the client is reconnecting, or nobody answered in time).
BUS_RETRY_AFTER_S = 2
BUS_UNAVAILABLE_MESSAGE = "A server this request needs does not answer right now; try again in a few seconds."


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def database_unavailable_response(request: Request) -> Response:
    """503 with Retry-After: the API's JSON error shape, or a plain page for a browser asking for a page."""
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER_S)}
    wants_page = not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")
    if wants_page:
        return HTMLResponse(_DATABASE_PAGE, status_code=503, headers=headers)
    return JSONResponse(error_body("unavailable", DATABASE_UNAVAILABLE_MESSAGE), status_code=503, headers=headers)


def _describe(exc: Exception) -> str:
    """The driver's own error, never SQLAlchemy's text (it carries the statement's parameters: tokens, names)."""
    error = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    return f"{type(error).__name__}: {error}"


def install_error_handlers(app: FastAPI) -> None:
    logged_at = [float("-inf")]  # monotonic: an outage is logged once per interval, not once per request

    async def _database(request: Request, exc: Exception) -> Response:
        if not database_unavailable(exc):
            raise exc  # a bug: the server error handler logs it and answers 500
        if time.monotonic() - logged_at[0] >= _LOG_EVERY_S:
            logged_at[0] = time.monotonic()
            logger.warning("the database is unavailable; answering 503 until it is back: %s", _describe(exc))
        return database_unavailable_response(request)

    for error_class in _DATABASE_ERRORS:
        app.add_exception_handler(error_class, _database)

    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else None
        if status == 503:  # something the request needs is down for a moment: say when to ask again
            headers = {"Retry-After": str(DATABASE_RETRY_AFTER_S)}
        if isinstance(exc, AuthenticationFailed):
            headers = {"WWW-Authenticate": "Bearer"}
        return JSONResponse(error_body(exc.code, exc.message), status_code=status, headers=headers)

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> Response:
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=exc.headers)
        if exc.status_code == 400 and exc.detail == _BODY_NOT_PARSED:  # FastAPI: a JSON body that is not UTF-8
            return JSONResponse(error_body("invalid_input", _NOT_JSON), status_code=422)
        code = HTTP_CODES.get(exc.status_code, "bad_request" if exc.status_code < 500 else "error")
        message = exc.detail if isinstance(exc.detail, str) and exc.detail else "Request failed."
        return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(err.get("type") == "json_invalid" for err in errors):
            return JSONResponse(error_body("invalid_input", _NOT_JSON), status_code=422)
        problems = []
        for err in errors[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        return JSONResponse(error_body("invalid_input", "Invalid request. " + "; ".join(problems)), status_code=422)

    @app.exception_handler(NoResponder)
    async def _no_responder(_request: Request, exc: NoResponder) -> JSONResponse:
        return JSONResponse(error_body("not_running", "The conference is not running right now."), status_code=404)

    @app.exception_handler(BusError)
    async def _bus(_request: Request, exc: BusError) -> JSONResponse:
        # The bus reconnecting to another NATS node, or a server not answering in time: try again shortly.
        logger.warning("a bus request failed; answering 503: %s: %s", type(exc).__name__, exc)
        return JSONResponse(
            error_body("unavailable", BUS_UNAVAILABLE_MESSAGE),
            status_code=503,
            headers={"Retry-After": str(BUS_RETRY_AFTER_S)},
        )
