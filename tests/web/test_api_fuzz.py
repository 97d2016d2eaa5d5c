"""The REST API fuzzed from its own OpenAPI document (issue 15, item 7) against a real ``veche up``.

Schemathesis generates requests from the document served at /api/v1/openapi.json — both ones that fit it and ones
that do not (wrong types, missing fields, values out of range) — for every operation, once as an administrator and
once without signing in. Every answer must be no server error, have a documented status code and content type,
and a body that matches the documented schema (errors: ``{"error": {"code", "message"}}``).

Bounded: a few examples per operation and mode (MAX_EXAMPLES), long polls cut short; a few minutes in all.
Each operation and mode is its own Hypothesis run, and every failing one is reported, not only the first.
The server is this module's own (the fuzzer changes settings, creates and deletes users and conferences).
Left out, as administrator: DELETE /auth/token (it would log out the token the rest of the run uses; it is fuzzed
without a token). Kept: POST /servers/{id}/actions (restart, shutdown) and DELETE /servers/{id}, since a generated id
never names this server (its id ends in 8 random hex digits): they answer 404 here.
"""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.server import VecheServer

# Per operation and mode (requests that fit the document, and ones that do not); VECHE_FUZZ_EXAMPLES=100 digs deeper.
MAX_EXAMPLES = int(os.environ.get("VECHE_FUZZ_EXAMPLES", "8"))
REQUEST_TIMEOUT_S = 20.0
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,  # a shared machine: timing is not what this test checks
    database=None,  # no .hypothesis directory in the checkout
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VecheServer]:
    server = VecheServer.start(root=tmp_path_factory.mktemp("fuzzed-server"))
    try:
        _seed(server)
        yield server
    finally:
        server.stop()


def _seed(server: VecheServer) -> None:
    """A few things for generated ids and codes to hit: a user and two conferences (one open to guests)."""
    created = server.api(
        "POST",
        "/api/v1/users",
        server.admin_token,
        json={"login": "anna", "display_name": "Anna", "email": "anna@example.org", "password": "anna-password"},
    )
    assert created.status_code == 201, created.text
    for name, guests in (("Weekly", False), ("Open house", True)):
        conference = server.api(
            "POST", "/api/v1/conferences", server.admin_token, json={"name": name, "guests_allowed": guests}
        )
        assert conference.status_code == 201, conference.text


@pytest.fixture(scope="module")
def api_schema(fuzzed_server: VecheServer) -> Any:
    return schemathesis.openapi.from_url(f"{fuzzed_server.url}/api/v1/openapi.json")


def _call(case: Any, server: VecheServer, token: str | None, statuses: collections.Counter[int]) -> None:
    if case.path == "/api/v1/directory/calls" and isinstance(case.query, dict):
        wait = case.query.get("wait_s")
        if isinstance(wait, int | float) and not isinstance(wait, bool) and wait > 0:
            case.query["wait_s"] = 0  # a long poll with nothing ringing waits it out: the fuzzer need not
    if case.path.startswith("/api/v1/chats") and case.path.endswith("/events"):
        # A chat's event stream stays open for wait_s (default 25 s): the fuzzer takes what is there at once.
        case.query = {**(case.query if isinstance(case.query, dict) else {}), "wait_s": 0}
    headers = {"Authorization": f"Bearer {token}"} if token else None
    response = case.call_and_validate(base_url=server.url, headers=headers, checks=CHECKS, timeout=REQUEST_TIMEOUT_S)
    statuses[response.status_code] += 1


def _fuzz(
    api_schema: Any, server: VecheServer, token: str | None, *, skip: frozenset[str] = frozenset()
) -> tuple[list[str], collections.Counter[int]]:
    """Fuzz every operation in both modes: what failed, one line per operation and mode (all, not the first), and
    the statuses answered."""
    failures: list[str] = []
    statuses: collections.Counter[int] = collections.Counter()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30, [op.label for op in operations]
    for operation in operations:
        if operation.label in skip:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @FUZZ_SETTINGS
            @given(case=operation.as_strategy(generation_mode=mode))
            def fuzz(case: Any) -> None:
                _call(case, server, token, statuses)

            try:
                fuzz()
            except Unsatisfiable:
                pass  # nothing that breaks the document to send (no parameters, or only free-form strings)
            except (Exception, BaseExceptionGroup) as failure:  # reported below, with every other operation's
                failures.append(f"{operation.label} ({mode.value}): {failure}"[:2000])
    # The fuzzer did send requests, and as an administrator they got past the door.
    assert sum(statuses.values()) >= 4 * len(operations), statuses
    print(f"{'signed in' if token else 'not signed in'}: {sum(statuses.values())} requests, {dict(statuses)}")
    return failures, statuses


def test_api_as_administrator(api_schema: Any, fuzzed_server: VecheServer) -> None:
    logout = frozenset({"DELETE /api/v1/auth/token"})
    failures, statuses = _fuzz(api_schema, fuzzed_server, fuzzed_server.admin_token, skip=logout)
    assert not failures, "\n\n".join(failures)
    assert sum(n for status, n in statuses.items() if status < 300) >= 30, statuses


def test_api_without_signing_in(api_schema: Any, fuzzed_server: VecheServer) -> None:
    failures, statuses = _fuzz(api_schema, fuzzed_server, None)
    assert not failures, "\n\n".join(failures)
    assert statuses[401] > 0, statuses


def test_the_document_describes_errors_in_the_one_shape(fuzzed_server: VecheServer) -> None:
    document = fuzzed_server.api("GET", "/api/v1/openapi.json").json()
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    admin_only = document["paths"]["/api/v1/servers"]["get"]["responses"]
    assert {"401", "403"} <= set(admin_only)
    login = document["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert {"401", "422", "429"} <= set(login)
    for status in ("401", "422", "429"):
        assert login[status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "HTTPValidationError" not in json.dumps(document)  # FastAPI's own 422 shape, which Veche never answers


@pytest.mark.parametrize(
    "fields",
    [{"moderators": [2**70]}, {"invited": [-3]}, {"owner_id": 2**63}],
)
def test_user_ids_in_a_conference_body_are_bounded(fuzzed_server: VecheServer, fields: dict[str, Any]) -> None:
    """Found by the fuzzer: ids beyond 64 bits in a body reached the database (500 Internal Server Error)."""
    body = {"name": "Bounded", **fields}
    refused = fuzzed_server.api("POST", "/api/v1/conferences", fuzzed_server.admin_token, json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "invalid_input"
    assert next(iter(fields)) in refused.json()["error"]["message"]
