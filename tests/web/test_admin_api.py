"""The admin API for accounts and conferences: edit, disable, reset a password, delete; paged lists; who may."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import ADMIN_PASSWORD, Api
from tests.web.test_join_tickets import join_answer, live
from tests.web.test_signaling_ws import joined, until
from veche.domain.clock import utc_now


def _login(api: Api, login: str, password: str) -> Any:
    return api.call("POST", "/auth/token", json={"login": login, "password": password})


def _bulk_users(api: Api, count: int) -> None:
    """``count`` accounts straight in the store (hashing 250 passwords would only slow the test)."""
    store = api.container.get_user_store()

    async def create() -> None:
        for i in range(count):
            await store.create(
                login=f"user{i:03d}",
                display_name=f"Person {i:03d}",
                email=f"user{i:03d}@example.org",
                password_hash=None,
                is_admin=False,
                now=utc_now(),
            )

    api.client.portal.call(create)  # type: ignore[union-attr]


def test_an_admin_edits_a_user_and_the_address_book_follows(api: Api) -> None:
    olga, olga_token = api.user("olga")
    r = api.call(
        "PATCH", f"/users/{olga}", api.admin_token, json={"display_name": "Ольга Петрова", "email": "op@example.org"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["display_name"], r.json()["email"], r.json()["is_admin"]) == (
        "Ольга Петрова",
        "op@example.org",
        False,
    )
    assert api.call("GET", f"/users/{olga}", api.admin_token).json()["display_name"] == "Ольга Петрова"
    found = api.call("GET", "/directory/search", api.admin_token, params={"q": "петров"}).json()
    assert "Ольга Петрова" in str(found)
    # Made an administrator: the next request already may do what admins do.
    assert api.call("GET", "/users", olga_token).status_code == 403
    assert api.call("PATCH", f"/users/{olga}", api.admin_token, json={"is_admin": True}).json()["is_admin"] is True
    assert api.call("GET", "/users", olga_token).status_code == 200


def test_strict_types_and_unknown_fields_are_refused(api: Api) -> None:
    olga, _ = api.user("olga")
    for body in ({"is_admin": "yes"}, {"disabled": 1}, {"login": "renamed"}, {"display_name": ""}):
        r = api.call("PATCH", f"/users/{olga}", api.admin_token, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["code"] == "invalid_input"
    assert api.call("GET", f"/users/{olga}", api.admin_token).json()["is_admin"] is False
    r = api.call("PATCH", f"/users/{olga}", api.admin_token, json={"display_name": "Evil\u202egnp.exe"})
    assert r.status_code == 400 and "text-direction" in r.json()["error"]["message"]
    r = api.call("PATCH", f"/users/{olga}", api.admin_token, json={"email": "not an address"})
    assert r.status_code == 400 and r.json()["error"]["message"] == "The email address is not valid."
    conf = api.conference(api.admin_token)
    r = api.call("PATCH", f"/conferences/{conf['id']}", api.admin_token, json={"max_participants": "10"})
    assert r.status_code == 422
    r = api.call("PATCH", f"/conferences/{conf['id']}", api.admin_token, json={"guests_allowed": "true"})
    assert r.status_code == 422


def test_non_admins_get_403_that_reveals_nothing(api: Api) -> None:
    olga, olga_token = api.user("olga")
    conf = api.conference(api.admin_token)
    calls = [
        ("GET", f"/users/{olga}", None),
        ("GET", "/users/999999", None),
        ("PATCH", f"/users/{olga}", {"is_admin": True}),
        ("PATCH", "/users/999999", {"is_admin": True}),
        ("POST", f"/users/{olga}/password", {"password": "new-password-1"}),
        ("DELETE", f"/users/{olga}", None),
        ("DELETE", "/users/999999", None),
        ("PATCH", f"/conferences/{conf['id']}", {"name": "Mine now"}),
        ("PATCH", "/conferences/999999", {"name": "Mine now"}),
        ("DELETE", f"/conferences/{conf['id']}", None),
        ("DELETE", "/conferences/999999", None),
    ]
    answers = set()
    for method, path, body in calls:
        r = api.call(method, path, olga_token, json=body)
        assert r.status_code == 403, (method, path, r.text)
        answers.add(r.text)
    assert answers == {'{"error":{"code":"forbidden","message":"Only administrators may do this."}}'}
    assert api.call("GET", f"/users/{olga}", api.admin_token).json()["is_admin"] is False
    assert api.call("GET", f"/conferences/{conf['id']}", api.admin_token).json()["name"] == "Weekly"
    assert api.call("PATCH", f"/users/{olga}", None, json={"is_admin": True}).status_code == 401


def test_reset_password_then_log_in_with_it_and_old_sign_ins_end(api: Api) -> None:
    olga, olga_token = api.user("olga")
    r = api.call("POST", f"/users/{olga}/password", api.admin_token, json={"password": "brand-new-secret"})
    assert r.status_code == 204, r.text
    assert _login(api, "olga", "olga-password").status_code == 401
    assert _login(api, "olga", "brand-new-secret").status_code == 200
    assert api.call("GET", "/conferences", olga_token).status_code == 401  # the old sign-in ended
    r = api.call("POST", f"/users/{olga}/password", api.admin_token, json={"password": "short"})
    assert r.status_code == 422
    assert api.call("POST", "/users/999999/password", api.admin_token, json={"password": "x" * 10}).status_code == 404


def test_disable_refuses_login_and_ends_live_signaling(api: Api) -> None:
    olga, olga_token = api.user("olga")
    conf = api.conference(api.admin_token)
    with joined(api, join_answer(api, conf["id"], olga_token)["ticket"]) as (ws, hello):
        assert hello["type"] == "joined"
        r = api.call("PATCH", f"/users/{olga}", api.admin_token, json={"disabled": True})
        assert r.status_code == 200 and r.json()["disabled"] is True
        ended = until(ws, "session_ended")
        assert ended["code"] == "account_disabled" and "disabled" in ended["message"]
    assert live(api, conf["id"]) == []
    r = _login(api, "olga", "olga-password")
    assert r.status_code == 401 and r.json()["error"]["message"] == "This account is disabled."
    assert api.call("GET", "/conferences", olga_token).status_code == 401
    api.call("PATCH", f"/users/{olga}", api.admin_token, json={"disabled": False})
    assert _login(api, "olga", "olga-password").status_code == 200


def test_an_admin_cannot_lock_himself_out(api: Api) -> None:
    me = api.call("GET", "/users", api.admin_token, params={"q": "admin"}).json()[0]["id"]
    for body in ({"is_admin": False}, {"disabled": True}):
        r = api.call("PATCH", f"/users/{me}", api.admin_token, json=body)
        assert r.status_code == 403 and "your own" in r.json()["error"]["message"]
    assert api.call("DELETE", f"/users/{me}", api.admin_token).status_code == 403
    assert _login(api, "admin", ADMIN_PASSWORD).json()["user"]["is_admin"] is True


def test_delete_user_ends_his_calls_and_hands_his_conferences_over(api: Api) -> None:
    olga, olga_token = api.user("olga")
    boris, _ = api.user("boris")
    owned = api.conference(olga_token, name="Olga's standup")
    conf = api.conference(api.admin_token, access="invited", invited=[olga, boris])
    with joined(api, join_answer(api, conf["id"], olga_token)["ticket"]) as (ws, hello):
        assert hello["type"] == "joined"
        assert api.call("DELETE", f"/users/{olga}", api.admin_token).status_code == 204
        assert until(ws, "session_ended")["code"] == "account_disabled"
    assert api.call("GET", f"/users/{olga}", api.admin_token).status_code == 404
    assert api.call("DELETE", f"/users/{olga}", api.admin_token).status_code == 404
    assert _login(api, "olga", "olga-password").status_code == 401
    assert api.call("GET", "/conferences", olga_token).status_code == 401
    admin_id = api.call("GET", "/users", api.admin_token, params={"q": "admin"}).json()[0]["id"]
    assert api.call("GET", f"/conferences/{owned['id']}", api.admin_token).json()["owner_id"] == admin_id
    assert api.call("GET", f"/conferences/{conf['id']}", api.admin_token).json()["invited"] == [boris]


def test_users_are_paged_in_order_with_a_total_and_a_search(api: Api) -> None:
    _bulk_users(api, 250)
    seen: list[str] = []
    for offset in range(0, 300, 50):
        r = api.call("GET", "/users", api.admin_token, params={"limit": 50, "offset": offset})
        assert r.status_code == 200 and r.headers["X-Total-Count"] == "251"  # and the admin
        page = [u["login"] for u in r.json()]
        assert len(page) == (50 if offset < 250 else 1)
        seen += page
    assert seen == sorted(seen) and len(set(seen)) == 251
    assert seen[:2] == ["admin", "user000"] and seen[-1] == "user249"
    r = api.call("GET", "/users", api.admin_token, params={"q": "PERSON 12", "limit": 5})
    assert r.headers["X-Total-Count"] == "10"  # Person 120–129
    assert [u["login"] for u in r.json()] == ["user120", "user121", "user122", "user123", "user124"]
    r = api.call("GET", "/users", api.admin_token, params={"q": "user24", "limit": 50, "offset": 5})
    assert r.headers["X-Total-Count"] == "10" and [u["login"] for u in r.json()] == [f"user24{i}" for i in range(5, 10)]
    r = api.call("GET", "/users", api.admin_token, params={"q": "user20_"})
    assert r.headers["X-Total-Count"] == "0"  # "_" is a character here, not a LIKE wildcard


def test_the_store_pages_in_sql_not_in_python(api: Api) -> None:
    """Ask for one page of 250 users and check the statement carried LIMIT and OFFSET."""
    _bulk_users(api, 250)
    statements: list[str] = []
    from sqlalchemy import event

    engine = api.container.get_database().engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        api.call("GET", "/users", api.admin_token, params={"limit": 50, "offset": 100})
    finally:
        event.remove(engine, "before_cursor_execute", record)
    listed = [s for s in statements if "FROM users" in s and "count" not in s.lower() and "sessions" not in s]
    assert listed and all("LIMIT" in s and "OFFSET" in s for s in listed), statements


def test_an_admin_edits_a_conference(api: Api) -> None:
    olga, olga_token = api.user("olga")
    conf = api.conference(api.admin_token)
    r = api.call(
        "PATCH",
        f"/conferences/{conf['id']}",
        api.admin_token,
        json={"name": "Retro", "type": "moderated", "max_participants": 8, "access": "invited", "moderators": [olga]},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["name"], out["type"], out["max_participants"], out["access"], out["moderators"]) == (
        "Retro",
        "moderated",
        8,
        "invited",
        [olga],
    )
    assert out["url"].startswith("http://") and out["invite_url"].endswith(f"/join/{conf['invite_code']}")
    assert api.call("GET", f"/conferences/{conf['id']}", olga_token).json()["name"] == "Retro"
    r = api.call("PATCH", f"/conferences/{conf['id']}", api.admin_token, json={"invited": [999999]})
    assert r.status_code == 400 and r.json()["error"]["message"] == "Unknown user id(s): 999999."
    assert api.call("PATCH", "/conferences/999999", api.admin_token, json={"name": "x"}).status_code == 404


def test_deleting_a_conference_with_people_in_it_needs_force(api: Api) -> None:
    _, olga_token = api.user("olga")
    conf = api.conference(api.admin_token, name="Busy")
    with joined(api, join_answer(api, conf["id"], olga_token)["ticket"]) as (ws, hello):
        assert hello["type"] == "joined"
        r = api.call("DELETE", f"/conferences/{conf['id']}", api.admin_token)
        assert r.status_code == 409
        assert r.json()["error"]["message"] == (
            "1 person is in “Busy” now. Wait until the call ends, or delete with force to end it for them."
        )
        assert api.call("GET", f"/conferences/{conf['id']}", api.admin_token).status_code == 200
        r = api.call("DELETE", f"/conferences/{conf['id']}", api.admin_token, params={"force": "true"})
        assert r.status_code == 204, r.text
        assert until(ws, "removed")["by"] == "An administrator"
    assert api.call("GET", f"/conferences/{conf['id']}", api.admin_token).status_code == 404
    assert api.call("POST", f"/conferences/{conf['id']}/join", olga_token).status_code == 404
    assert api.call("GET", f"/invites/{conf['invite_code']}").status_code == 404


def test_an_empty_conference_is_deleted_at_once(api: Api) -> None:
    conf = api.conference(api.admin_token)
    assert api.call("DELETE", f"/conferences/{conf['id']}", api.admin_token).status_code == 204
    assert api.call("DELETE", f"/conferences/{conf['id']}", api.admin_token).status_code == 404


@pytest.mark.parametrize("path", ["/users/99999999999999999999999", "/conferences/99999999999999999999999"])
def test_ids_beyond_the_database_are_refused_not_500(api: Api, path: str) -> None:
    assert api.call("PATCH", path, api.admin_token, json={}).status_code == 422
    assert api.call("DELETE", path, api.admin_token).status_code == 422


def test_any_user_creates_a_conference_and_moderates_it(api: Api) -> None:
    olga, olga_token = api.user("olga")
    conf = api.conference(olga_token, name="Olga's meeting")
    assert conf["owner_id"] == olga
    with joined(api, join_answer(api, conf["id"], olga_token)["ticket"]) as (_, hello):
        assert hello["role"] == "moderator"
