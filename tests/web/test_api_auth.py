"""Authentication and who may do what through the REST API."""

from __future__ import annotations

from tests.web.conftest import ADMIN_PASSWORD, Api


def test_token_login_and_me(api: Api) -> None:
    me = api.call("GET", "/auth/me", api.admin_token)
    assert me.status_code == 200 and me.json()["login"] == "admin" and me.json()["is_admin"]


def test_wrong_password_is_401_with_message(api: Api) -> None:
    r = api.call("POST", "/auth/token", json={"login": "admin", "password": "nope"})
    assert r.status_code == 401
    assert r.json() == {"error": {"code": "authentication_failed", "message": "Wrong login or password."}}


def test_login_rate_limited_after_five_failures(api: Api) -> None:
    for _ in range(5):
        assert api.call("POST", "/auth/token", json={"login": "admin", "password": "bad"}).status_code == 401
    r = api.call("POST", "/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 429 and "Too many failed logins" in r.json()["error"]["message"]
    assert int(r.headers["Retry-After"]) > 0


def test_no_token_and_bad_token(api: Api) -> None:
    assert api.call("GET", "/conferences").status_code == 401
    r = api.call("GET", "/conferences", "not-a-token")
    assert r.status_code == 401 and "invalid or has expired" in r.json()["error"]["message"]


def test_logout_revokes_token(api: Api) -> None:
    _, token = api.user("ivan")
    assert api.call("DELETE", "/auth/token", token).status_code == 204
    assert api.call("GET", "/auth/me", token).status_code == 401


def test_only_admins_create_users(api: Api) -> None:
    _, token = api.user("ivan")
    r = api.call("POST", "/users", token, json={"login": "x1", "display_name": "X", "password": "12345678"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert api.call("GET", "/users", token).status_code == 403


def test_bad_user_input_writes_nothing(api: Api) -> None:
    r = api.call("POST", "/users", api.admin_token, json={"login": "ok", "display_name": "X", "password": "short"})
    assert r.status_code == 422 and "password" in r.json()["error"]["message"]
    r = api.call(
        "POST", "/users", api.admin_token, json={"login": "bad login!", "display_name": "X", "password": "long-enough"}
    )
    assert r.status_code == 400 and "login must be" in r.json()["error"]["message"]
    r = api.call("POST", "/users", api.admin_token, content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    api.user("ivan")
    dup = api.call(
        "POST", "/users", api.admin_token, json={"login": "IVAN", "display_name": "I", "password": "long-enough"}
    )
    assert dup.status_code == 409 and "already exists" in dup.json()["error"]["message"]  # logins ignore case
    logins = [u["login"] for u in api.call("GET", "/users", api.admin_token).json()]
    assert "ok" not in logins and "bad login!" not in logins


def test_passwords_are_argon2_hashed_and_never_returned(api: Api) -> None:
    uid, _ = api.user("ivan")
    users = api.call("GET", "/users", api.admin_token).json()
    assert all("password" not in str(u) for u in users)
    row = api.client.portal.call(api.container.get_user_store().by_login, "ivan")  # type: ignore[union-attr]
    assert row is not None and row[1].startswith("$argon2id$")


def test_health_reports_roles_and_engine_to_admins_and_the_cluster(api: Api) -> None:
    for token in (api.admin_token, api.container.get_join_token()):
        body = api.call("GET", "/health", token).json()
        assert body["status"] == "ok"
        assert body["roles"] == {"manager": "up", "base": "up", "web": "up", "app": "up"}
        assert body["media_engine"]["up"] is True and "servers" in body


def test_health_tells_anyone_else_only_that_it_is_alive(api: Api) -> None:
    _, anna = api.user("anna")
    for token in (None, anna, "wrong-token"):
        answer = api.call("GET", "/health", token)
        assert answer.status_code == 200
        assert set(answer.json()) == {"status", "version"}, answer.json()  # no pid, no server ids


def test_openapi_published(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    assert "/api/v1/conferences/{conference_id}/join" in spec["paths"]
    assert "/api/v1/auth/token" in spec["paths"]
