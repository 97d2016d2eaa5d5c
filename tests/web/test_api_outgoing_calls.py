"""The caller's side of a call over the API: only he follows his call (ringing, declined, answered, unanswered is
in tests/directory), only he may cancel it, and cancelling stops it ringing for the callee."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import Api


def _outgoing(api: Api, token: str | None, conference_id: int, **params: Any) -> Any:
    return api.call("GET", f"/directory/outgoing-calls/{conference_id}", token, params=params)


def _call(api: Api, caller: str, callee_id: int) -> int:
    response = api.call("POST", f"/directory/contacts/{callee_id}/call", caller)
    assert response.status_code == 201, response.text
    return int(response.json()["conference_id"])


def test_only_the_caller_follows_his_call_and_learns_it_was_declined(api: Api) -> None:
    _, anna = api.user("anna-out")
    bob_id, bob = api.user("bob-out")
    _, eve = api.user("eve-out")
    conference_id = _call(api, anna, bob_id)

    answer = _outgoing(api, anna, conference_id)
    assert answer.status_code == 200, answer.text
    call = answer.json()
    assert call["state"] == "ringing" and call["callee"] == {"id": bob_id, "display_name": "Bob-Out"}
    assert 0 < call["expires_in_s"] <= 30 and call["url"].startswith("/c/")
    # The callee and anyone else: no such call; without a login, nothing.
    assert _outgoing(api, bob, conference_id).status_code == 404
    assert _outgoing(api, eve, conference_id).status_code == 404
    assert _outgoing(api, None, conference_id).status_code == 401
    assert _outgoing(api, anna, conference_id, known="nonsense").status_code == 422

    assert api.call("DELETE", f"/directory/calls/{conference_id}", bob).status_code == 204
    declined = _outgoing(api, anna, conference_id, known="ringing", wait_s=5).json()
    assert declined["state"] == "declined" and declined["expires_in_s"] == 0


def test_only_the_caller_may_cancel_and_the_ring_stops(api: Api) -> None:
    _, anna = api.user("anna-cancel")
    bob_id, bob = api.user("bob-cancel")
    conference_id = _call(api, anna, bob_id)
    assert [c["conference_id"] for c in api.call("GET", "/directory/calls", bob).json()["calls"]] == [conference_id]

    assert api.call("DELETE", f"/directory/outgoing-calls/{conference_id}", bob).status_code == 404
    assert api.call("DELETE", f"/directory/outgoing-calls/{conference_id}").status_code == 401
    cancelled = api.call("DELETE", f"/directory/outgoing-calls/{conference_id}", anna)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert api.call("GET", "/directory/calls", bob).json() == {"calls": []}
    assert api.call("POST", f"/directory/calls/{conference_id}/answer", bob).status_code == 404  # too late


def test_the_callee_answers_and_the_caller_learns_it(api: Api) -> None:
    _, anna = api.user("anna-answer")
    bob_id, bob = api.user("bob-answer")
    conference_id = _call(api, anna, bob_id)
    assert api.call("POST", f"/directory/calls/{conference_id}/answer", anna).status_code == 404  # not hers
    assert api.call("POST", f"/directory/calls/{conference_id}/answer", bob).status_code == 204
    assert _outgoing(api, anna, conference_id, known="ringing", wait_s=5).json()["state"] == "answered"
    assert api.call("GET", "/directory/calls", bob).json() == {"calls": []}
