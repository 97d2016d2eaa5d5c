"""The server registry and shared settings over the REST API, on `veche up`'s single server."""

from __future__ import annotations

import time

from tests.web.conftest import Api


def _wait_for_servers(api: Api) -> list[dict[str, object]]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        servers = api.call("GET", "/servers", api.admin_token).json()
        if servers and servers[0]["pid"]:
            return list(servers)
        time.sleep(0.1)
    raise AssertionError("the server never appeared with a heartbeat")


def test_single_server_is_registered_approved_and_live(api: Api) -> None:
    [server] = _wait_for_servers(api)
    assert server["status"] == "up" and set(server["roles"]) == {"manager", "base", "web", "app"}  # type: ignore[arg-type]
    assert server["media_engine"]["up"] is True  # type: ignore[index]
    assert server["cpu_use"] is not None and server["version"] == "0.1.0"


def test_only_admins_see_servers_and_settings(api: Api) -> None:
    _, anna = api.user("anna")
    assert api.call("GET", "/servers", anna).status_code == 403
    assert api.call("PATCH", "/settings", anna, json={"domain": "x"}).status_code == 403


def test_edit_and_drain_reach_the_server(api: Api) -> None:
    [server] = _wait_for_servers(api)
    r = api.call("PATCH", f"/servers/{server['id']}", api.admin_token, json={"name": "Москва-1", "region": "ru"})
    assert r.status_code == 200 and r.json()["name"] == "Москва-1" and r.json()["region"] == "ru"
    r = api.call("PATCH", f"/servers/{server['id']}", api.admin_token, json={"draining": True})
    assert r.json()["status"] == "draining"
    # A draining server takes no new conference.
    conf = api.conference(api.admin_token)
    refused = api.call("POST", f"/conferences/{conf['id']}/join", api.admin_token)
    assert refused.status_code == 503 and "1 draining" in refused.json()["error"]["message"]
    api.call("PATCH", f"/servers/{server['id']}", api.admin_token, json={"draining": False})
    assert api.call("POST", f"/conferences/{conf['id']}/join", api.admin_token).status_code == 200
    assert api.call("PATCH", "/servers/nope", api.admin_token, json={"name": "x"}).status_code == 404


def test_settings_change_is_applied_without_restart(api: Api) -> None:
    conf = api.conference(api.admin_token, guests_allowed=True)
    r = api.call(
        "PATCH",
        "/settings",
        api.admin_token,
        json={"video_max_height": 360, "guests_allowed": False, "turn_servers": [{"urls": "turn:turn.example.org"}]},
    )
    assert r.status_code == 200 and r.json()["revision"] == 1
    joined = api.call("POST", f"/conferences/{conf['id']}/join", api.admin_token).json()
    assert joined["client"]["video_max_height"] == 360
    assert {"urls": "turn:turn.example.org"} in joined["ice_servers"]
    guest = api.call("POST", f"/invites/{conf['invite_code']}/join", json={"display_name": "Visitor"})
    assert guest.status_code == 403 and "Guests are not allowed" in guest.json()["error"]["message"]
    bad = api.call("PATCH", "/settings", api.admin_token, json={"video_max_height": 999})
    assert bad.status_code == 422 and api.call("GET", "/settings", api.admin_token).json()["revision"] == 1


def test_guests_get_their_own_short_lived_turn_credentials_never_the_secret(api: Api) -> None:
    conf = api.conference(api.admin_token, guests_allowed=True)
    turn = {"urls": "turn:turn.example.org:3478", "secret": "coturn-static-auth-secret"}
    assert api.call("PATCH", "/settings", api.admin_token, json={"turn_servers": [turn]}).status_code == 200
    answers = []
    for name in ("Visitor one", "Visitor two"):
        api.client.cookies.clear()  # two browsers
        joined = api.call("POST", f"/invites/{conf['invite_code']}/join", json={"display_name": name})
        assert joined.status_code == 200, joined.text
        assert "coturn-static-auth-secret" not in joined.text
        [server] = [s for s in joined.json()["ice_servers"] if s["urls"] == turn["urls"]]
        answers.append(server)
    assert answers[0]["username"] != answers[1]["username"]
    assert all(a["username"].split(":")[0].isdigit() and a["credential"] for a in answers)


def test_server_and_settings_bodies_take_only_their_json_type(api: Api) -> None:
    [server] = _wait_for_servers(api)
    for body in ({"max_participants": "10"}, {"draining": "yes"}, {"approved": 1}, {"name": "x", "colour": "red"}):
        refused = api.call("PATCH", f"/servers/{server['id']}", api.admin_token, json=body)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_input", refused.text
    assert api.call("POST", f"/servers/{server['id']}/actions", api.admin_token, json={"action": 1}).status_code == 422
    for body in ({"guests_allowed": "no"}, {"video_max_bitrate_bps": "1000000"}, {"theme": "dark"}):
        refused = api.call("PATCH", "/settings", api.admin_token, json=body)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_input", refused.text
    settings = api.call("GET", "/settings", api.admin_token).json()
    assert settings["revision"] == 0 and settings["guests_allowed"] is True
    assert api.call("GET", "/servers", api.admin_token).json()[0]["max_participants"] != 10
    # What GET gave can be sent back as it is (its revision is ignored).
    saved = api.call("PATCH", "/settings", api.admin_token, json={**settings, "domain": "veche.example.org"})
    assert saved.status_code == 200 and saved.json()["revision"] == 1, saved.text


def test_a_server_name_with_control_characters_is_refused(api: Api) -> None:
    [server] = _wait_for_servers(api)
    for bad in ("rack\x00", "\u202eevil", "\u200b"):
        refused = api.call("PATCH", f"/servers/{server['id']}", api.admin_token, json={"name": bad})
        assert refused.status_code == 400 and refused.json()["error"]["message"], refused.text
    assert api.call("GET", f"/servers/{server['id']}", api.admin_token).json()["name"] == server["name"]
