"""Bad input at the HTTP and WebSocket edges (issue 15, items 4 and 7): clear errors in Veche's one shape, never 500.

The transport's frame size limit needs the real uvicorn: tests/web/test_transport_limits.py.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import pytest
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from tests.web.conftest import Api
from veche.app.pending_joins import MAX_PENDING_PER_ADDRESS

HUGE = 99999999999999999999999  # above 2**63: the database's integers end there


def assert_error(response: Any, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code and body["error"]["message"], body
    return dict(body["error"])


# -- ids beyond 64 bits ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/conferences/{HUGE}"),
        ("POST", f"/conferences/{HUGE}/join"),
        ("GET", f"/conferences/{HUGE}/participants"),
        ("POST", f"/conferences/{HUGE}/participants/someone/mute"),
        ("DELETE", f"/conferences/{HUGE}/participants/someone"),
        ("GET", f"/directory/contacts/{HUGE}"),
        ("POST", f"/directory/contacts/{HUGE}/call"),
        ("DELETE", f"/directory/calls/{HUGE}"),
        ("GET", f"/directory/calls?known={HUGE}"),
        ("GET", f"/users?offset={2**70}"),
        ("GET", "/conferences/0"),
        ("GET", "/directory/contacts/-1"),
    ],
)
def test_out_of_range_ids_are_invalid_input(api: Api, method: str, path: str) -> None:
    error = assert_error(api.call(method, path, api.admin_token), 422, "invalid_input")
    assert "less than or equal to" in error["message"] or "greater than or equal to" in error["message"]


def test_largest_id_is_just_not_found(api: Api) -> None:
    assert_error(api.call("GET", f"/conferences/{2**63 - 1}", api.admin_token), 404, "not_found")
    assert_error(api.call("GET", f"/directory/contacts/{2**63 - 1}", api.admin_token), 404, "not_found")
    assert api.call("GET", f"/users?offset={2**63 - 1}", api.admin_token).json() == []


# -- strict request bodies ---------------------------------------------------------------------------------------


def test_a_string_is_not_a_bool_so_no_admin_is_made(api: Api) -> None:
    body = {"login": "mallory", "display_name": "Mallory", "password": "mallory-password", "is_admin": "yes"}
    error = assert_error(api.call("POST", "/users", api.admin_token, json=body), 422, "invalid_input")
    assert "is_admin" in error["message"]
    logins = [u["login"] for u in api.call("GET", "/users", api.admin_token).json()]
    assert "mallory" not in logins


@pytest.mark.parametrize(
    "fields",
    [
        {"max_participants": "10"},
        {"max_participants": 10.0},
        {"max_participants": True},
        {"guests_allowed": "true"},
        {"guests_allowed": 1},
        {"invited": ["2"]},
        {"owner_id": "1"},
        {"name": 42},
    ],
)
def test_conference_fields_take_only_their_json_type(api: Api, fields: dict[str, Any]) -> None:
    body = {"name": "Typed", **fields}
    error = assert_error(api.call("POST", "/conferences", api.admin_token, json=body), 422, "invalid_input")
    assert next(iter(fields)) in error["message"]
    assert all(c["name"] != "Typed" for c in api.call("GET", "/conferences", api.admin_token).json())


def test_join_and_login_bodies_are_strict_too(api: Api) -> None:
    conf = api.conference(api.admin_token)
    join = api.call("POST", f"/conferences/{conf['id']}/join", api.admin_token, json={"region": 5})
    assert_error(join, 422, "invalid_input")
    login = api.call("POST", "/auth/token", json={"login": "admin", "password": 12345678})
    assert_error(login, 422, "invalid_input")
    # Proper JSON types still pass.
    ok = api.call("POST", f"/conferences/{conf['id']}/join", api.admin_token, json={"region": "north"})
    assert ok.status_code == 200, ok.text


# -- bodies that are not JSON, and the framework's own errors ---------------------------------------------------


@pytest.mark.parametrize("content", [b"\xff\xfe{}", b'{"login": "\xc3", "password": "x"}', b"{not json", b"[1,"])
def test_undecodable_bodies_get_the_usual_error_shape(api: Api, content: bytes) -> None:
    response = api.call("POST", "/auth/token", content=content, headers={"Content-Type": "application/json"})
    error = assert_error(response, 422, "invalid_input")
    assert error["message"] == "Invalid request. The body is not valid JSON (UTF-8)."


def test_unknown_path_and_method_get_the_usual_error_shape(api: Api) -> None:
    assert_error(api.call("GET", "/no-such-thing"), 404, "not_found")
    response = api.call("PUT", "/conferences", api.admin_token, json={})
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


# -- the signaling socket ----------------------------------------------------------------------------------------


def _ticket(api: Api) -> str:
    conf = api.conference(api.admin_token)
    return str(api.call("POST", f"/conferences/{conf['id']}/join", api.admin_token).json()["ticket"])


def _closed(ws: WebSocketTestSession) -> WebSocketDisconnect:
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_text()
    return closed.value


def test_binary_frame_before_join_is_a_bad_request(api: Api) -> None:
    with api.client.websocket_connect("/ws/v1") as ws:
        ws.send_bytes(b'{"type": "join", "v": 1, "ticket": "x"}')
        error = ws.receive_json()
        assert error["type"] == "error" and error["code"] == "bad_request"
        assert "text" in error["message"]
        assert _closed(ws).code == 4000


def test_binary_frame_after_join_is_a_bad_request_and_the_socket_stays(api: Api) -> None:
    with api.client.websocket_connect("/ws/v1") as ws:
        ws.send_json({"type": "join", "v": 1, "ticket": _ticket(api), "id": 1})
        assert ws.receive_json()["type"] == "joined"
        ws.send_bytes(b"\x00\x01\x02")
        while (message := ws.receive_json())["type"] != "error":
            pass
        assert message["code"] == "bad_request" and "text" in message["message"]
        ws.send_json({"type": "ping", "id": 2})
        while (message := ws.receive_json())["type"] != "pong":
            pass
        assert message["id"] == 2


def test_sockets_that_have_not_joined_are_capped_per_address(api: Api) -> None:
    ticket = _ticket(api)
    with ExitStack() as stack:
        waiting = [stack.enter_context(api.client.websocket_connect("/ws/v1")) for _ in range(MAX_PENDING_PER_ADDRESS)]
        with api.client.websocket_connect("/ws/v1") as refused:
            closed = _closed(refused)
            assert closed.code == 1013 and "not joined" in closed.reason
        # A valid join frees its place: one more socket from the address is served again.
        waiting[0].send_json({"type": "join", "v": 1, "ticket": ticket, "id": 1})
        assert waiting[0].receive_json()["type"] == "joined"
        with api.client.websocket_connect("/ws/v1") as admitted:
            admitted.send_json({"type": "ping", "id": 5})
            error = admitted.receive_json()
            assert error["code"] == "not_joined" and error["id"] == 5


def test_names_with_control_bidi_or_only_invisible_characters_are_refused(api: Api) -> None:
    conf = api.conference(api.admin_token, guests_allowed=True)
    for bad in ("Mallory\x00", "\u202eAdmin", "\u200b\u200b\u200b"):
        guest = api.call("POST", f"/invites/{conf['invite_code']}/join", json={"display_name": bad})
        assert guest.status_code == 400, guest.text
        meeting = api.call("POST", "/conferences", api.admin_token, json={"name": bad})
        assert meeting.status_code == 400, meeting.text
        user = api.call(
            "POST",
            "/users",
            api.admin_token,
            json={"login": "zed", "display_name": bad, "email": "", "password": "zed-password-1", "is_admin": False},
        )
        assert user.status_code == 400 and user.json()["error"]["message"], user.text
    ok = api.call("POST", f"/invites/{conf['invite_code']}/join", json={"display_name": "Анна 李"})
    assert ok.status_code == 200
