"""The error responses of the OpenAPI document, added to every API operation in one place.

Every error of the API has one shape (web/errors.py): ``{"error": {"code", "message"}}``. Which statuses an
operation can answer is read from the route itself: its dependencies (signed in: 401; administrators only, or a
cookie caller's CSRF check on a write: 403), its path parameters (404), its parameters and body (422; and 400, for
values the route or its services refuse beyond their schema, such as a name with control characters); plus what
the services behind the routes raise (:data:`SERVICE_ERRORS`, by path). A route added to a router is documented
without touching this module; a route may still declare more with ``responses={409: {"description": ...}}``, and
gets the error schema for it.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterator
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from veche.web.security import SAFE_METHODS, current_caller, require_admin

__all__ = ["SERVICE_ERRORS", "ErrorOut", "add_error_responses", "document_errors", "error_statuses"]

ERROR_SCHEMA = "Error"

DESCRIPTIONS = {
    400: "Invalid input: a value the API refuses (the message says which and why)",
    401: "Not signed in, or the token is wrong or expired",
    403: "Not allowed: administrators only, or a cookie caller without the CSRF token",
    404: "Not found (or not visible to the caller)",
    409: "Conflicts with what exists",
    422: "The request does not match this operation's schema",
    429: "Too many attempts; the Retry-After header says when to try again",
    503: "Something the request needs (a server, the bus) does not answer; try again later",
}

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EVERY = WRITES | {"GET"}

# What the services behind the routes raise, which a route's signature does not show: (methods, path pattern
# (fnmatch, on the documented path), statuses). A route added under these paths is covered as it is.
SERVICE_ERRORS: tuple[tuple[frozenset[str], str, frozenset[int]], ...] = (
    (frozenset({"POST"}), "/api/v1/auth/token", frozenset({401, 429})),  # a wrong password; the login throttle
    (WRITES, "/api/v1/users*", frozenset({403, 409})),  # your own account (admin right, disable, delete); login taken
    # Creating for another user (administrators only); a referenced user gone, deleting a conference people are in.
    (WRITES, "/api/v1/conferences*", frozenset({403, 409})),
    (frozenset({"GET"}), "/api/v1/conferences/*/removed", frozenset({403})),  # moderators only
    (frozenset({"POST"}), "*/join", frozenset({403, 503})),  # guests refused, disabled account; no app server
    (frozenset({"POST"}), "/api/v1/directory/contacts/*/call", frozenset({400, 429})),  # yourself; ringing too often
    (frozenset({"POST"}), "/api/v1/directory/sources/*/sync", frozenset({503})),  # no base server answers
    (WRITES, "/api/v1/servers/*", frozenset({503})),  # a server that does not acknowledge a command
    (EVERY, "/api/v1/license", frozenset({503})),  # the manager does not answer
    # Chats (docs/chat.md): a chat or person one may not see; a message that breaks a rule; no base server answers.
    (EVERY, "/api/v1/chats*", frozenset({400, 404, 503})),
    (frozenset({"POST"}), "/api/v1/chats/*/call", frozenset({409, 429})),  # the address book's call; a conference
)


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="Stable and machine readable: invalid_input, not_found, rate_limited, ...")
    message: str = Field(description="What went wrong, in words for people")


class ErrorOut(BaseModel):
    """The body of every error answer of the API."""

    model_config = ConfigDict(extra="forbid", title=ERROR_SCHEMA)
    error: ErrorDetail


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _api_routes(routes: list[Any]) -> Iterator[Any]:
    """Every API route of the app: an APIRoute, or (FastAPI 0.16x, whose included routers stay routers) FastAPI's
    view of one with the prefix, tags and responses it was included with."""
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if contexts is None:
        yield from (route for route in routes if isinstance(route, APIRoute))
        return
    yield from (context for context in contexts(routes) if isinstance(context.original_route, APIRoute))


def error_statuses(route: Any, method: str) -> set[int]:
    """The error statuses ``route`` (see :func:`_api_routes`) can answer to ``method``."""
    dependants = list(_dependants(route.dependant))
    calls: set[Callable[..., Any]] = {d.call for d in dependants if d.call is not None}
    write = method.upper() not in SAFE_METHODS
    statuses: set[int] = set()
    if current_caller in calls:
        statuses.add(401)
        if require_admin in calls or write:
            statuses.add(403)
    if any(d.path_params for d in dependants):
        statuses.add(404)
    if any(d.path_params or d.query_params or d.header_params or d.cookie_params for d in dependants):
        statuses.add(422)
    if route.body_field is not None or any(d.query_params for d in dependants):
        statuses.update({400, 422})  # values the route or its service checks beyond their schema (dates, names)
    for methods, pattern, raised in SERVICE_ERRORS:
        if method.upper() in methods and fnmatch.fnmatchcase(route.path_format, pattern):
            statuses |= raised
    statuses |= {int(code) for code in route.responses if str(code).isdigit() and int(code) >= 400}
    return statuses


def _error_response(status: int, declared: dict[str, Any] | None) -> dict[str, Any]:
    """The response object for ``status``; FastAPI's own 422 (its HTTPValidationError) is replaced: Veche answers
    validation errors in its one error shape too."""
    response = dict(declared or {})
    if status == 422 or not response.get("description"):
        response["description"] = DESCRIPTIONS.get(status, "Error")
    if status == 422 or "content" not in response:
        response["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}}
    return response


def add_error_responses(document: dict[str, Any], routes: list[Any]) -> None:
    """Add (or correct) the error responses of every API operation of ``document`` in place."""
    paths = document.get("paths", {})
    for route in _api_routes(routes):
        if not route.include_in_schema or not route.path_format.startswith("/api/"):
            continue
        for method in route.methods:
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(error_statuses(route, method)):
                responses[str(status)] = _error_response(status, responses.get(str(status)))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas[ERROR_SCHEMA] = error_schema
    for unused in ("HTTPValidationError", "ValidationError"):  # in this order: the first refers to the second
        if f'"#/components/schemas/{unused}"' not in json.dumps(document):
            schemas.pop(unused, None)


def document_errors(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document carry the error responses (generated once, on first request)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        add_error_responses(document, app.routes)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
