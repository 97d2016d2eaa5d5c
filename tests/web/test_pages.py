"""Server-rendered pages: login with CSRF and throttling, the admin console's forms, the client shells."""

from __future__ import annotations

import re

from tests.web.conftest import ADMIN_PASSWORD, Api


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name}"
    return match.group(1)


def login(api: Api, login: str, password: str) -> str:
    page = api.client.get("/login")
    r = api.client.post(
        "/login",
        data={"login": login, "password": password, "csrf_token": _hidden(page.text, "csrf_token"), "next": "/admin"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return r.headers["location"]


def test_pages_need_login(api: Api) -> None:
    r = api.client.get("/admin", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_login_sets_httponly_samesite_cookie(api: Api) -> None:
    page = api.client.get("/login")
    r = api.client.post(
        "/login",
        data={"login": "admin", "password": ADMIN_PASSWORD, "csrf_token": _hidden(page.text, "csrf_token")},
        follow_redirects=False,
    )
    cookie = r.headers["set-cookie"]
    assert "veche_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_login_form_without_csrf_is_refused(api: Api) -> None:
    api.client.get("/login")
    r = api.client.post("/login", data={"login": "admin", "password": ADMIN_PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403 and "form expired" in r.text
    assert "veche_session" not in api.client.cookies


def test_wrong_password_shows_message(api: Api) -> None:
    page = api.client.get("/login")
    r = api.client.post(
        "/login", data={"login": "admin", "password": "wrong", "csrf_token": _hidden(page.text, "csrf_token")}
    )
    assert r.status_code == 401 and "Wrong login or password." in r.text


def test_admin_console_creates_user_and_conference(api: Api) -> None:
    assert login(api, "admin", ADMIN_PASSWORD) == "/admin"
    console = api.client.get("/admin")
    csrf = _hidden(console.text, "csrf_token")
    r = api.client.post(
        "/admin/users",
        data={
            "login": "olga",
            "display_name": "Ольга",
            "email": "o@x.org",
            "password": "olga-password",
            "csrf_token": csrf,
        },
    )
    assert r.status_code == 200 and "User olga created" in r.text and "Ольга" in r.text
    r = api.client.post(
        "/admin/conferences",
        data={
            "name": "Standup",
            "type": "moderated",
            "max_participants": "8",
            "guests_allowed": "true",
            "access": "invited",
            "invited": "olga",
            "moderators": "",
            "csrf_token": csrf,
        },
    )
    assert r.status_code == 200 and "Conference Standup created" in r.text
    conf = api.call("GET", "/conferences", api.admin_token).json()[0]
    assert conf["type"] == "moderated" and conf["guests_allowed"] and len(conf["invited"]) == 1
    # A forged form changes nothing.
    r = api.client.post(
        "/admin/users", data={"login": "evil", "display_name": "E", "password": "12345678", "csrf_token": "forged"}
    )
    assert r.status_code == 403
    assert "evil" not in [u["login"] for u in api.call("GET", "/users", api.admin_token).json()]


def test_cookie_api_calls_need_csrf_header(api: Api) -> None:
    login(api, "admin", ADMIN_PASSWORD)
    conf = api.conference(api.admin_token)
    r = api.client.post(f"/api/v1/conferences/{conf['id']}/join", json={})
    assert r.status_code == 403 and "CSRF" in r.json()["error"]["message"]
    page = api.client.get(conf["url"])
    csrf = re.search(r'data-csrf="([^"]+)"', page.text)
    assert csrf and 'data-join-url="/api/v1/conferences/' in page.text
    r = api.client.post(f"/api/v1/conferences/{conf['id']}/join", json={}, headers={"X-CSRF-Token": csrf.group(1)})
    assert r.status_code == 200 and r.json()["ticket"]


def test_guest_page_and_bad_invite(api: Api) -> None:
    conf = api.conference(api.admin_token, guests_allowed=True)
    page = api.client.get(f"/join/{conf['invite_code']}")
    assert page.status_code == 200 and 'data-guest="1"' in page.text
    assert api.client.get("/join/nope").status_code == 404
