"""Maps named errors to HTTP status codes and one JSON shape: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from veche.base.directory.server import DirectoryError, DirectoryUnavailable
from veche.bus.base import NoResponder
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

__all__ = ["install_error_handlers", "error_body"]

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


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else None
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
