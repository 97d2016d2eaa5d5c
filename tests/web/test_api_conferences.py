"""Conferences over the REST API: creation, visibility, join tickets, guests, moderation permissions."""

from __future__ import annotations

from tests.web.conftest import Api


def test_admin_creates_conference_with_invite_link(api: Api) -> None:
    conf = api.conference(
        api.admin_token, name="Совет директоров", type="moderated", max_participants=12, guests_allowed=True
    )
    assert conf["type"] == "moderated" and conf["max_participants"] == 12 and conf["guests_allowed"]
    assert conf["invite_url"].endswith(f"/join/{conf['invite_code']}")
    got = api.call("GET", f"/conferences/{conf['id']}", api.admin_token).json()
    assert got["name"] == "Совет директоров"


def test_invited_only_conference_hidden_and_refused(api: Api) -> None:
    anna_id, anna = api.user("anna")
    _, boris = api.user("boris")
    conf = api.conference(api.admin_token, access="invited", invited=[anna_id])
    assert [c["id"] for c in api.call("GET", "/conferences", anna).json()] == [conf["id"]]
    assert api.call("GET", "/conferences", boris).json() == []
    assert api.call("GET", f"/conferences/{conf['id']}", boris).status_code == 404
    refused = api.call("POST", f"/conferences/{conf['id']}/join", boris)
    assert refused.status_code == 404  # as for a conference that does not exist: the name stays private
    assert refused.json()["error"]["message"] == f"Conference {conf['id']} does not exist or you may not see it."
    ok = api.call("POST", f"/conferences/{conf['id']}/join", anna)
    assert ok.status_code == 200
    body = ok.json()
    assert body["signaling_url"].endswith("/ws/v1") and body["ticket"] and body["conference"]["id"] == conf["id"]


def test_guest_join_only_where_allowed(api: Api) -> None:
    closed = api.conference(api.admin_token, name="Closed")
    open_ = api.conference(api.admin_token, name="Open", guests_allowed=True)
    r = api.call("POST", f"/invites/{closed['invite_code']}/join", json={"display_name": "Visitor"})
    assert r.status_code == 403 and "does not allow guests" in r.json()["error"]["message"]
    r = api.call("POST", f"/invites/{open_['invite_code']}/join", json={"display_name": "Visitor"})
    assert r.status_code == 200 and r.json()["ticket"]
    r = api.call("POST", "/invites/no-such-code/join", json={"display_name": "Visitor"})
    assert r.status_code == 404 and "invite link is not valid" in r.json()["error"]["message"]
    r = api.call("POST", f"/invites/{open_['invite_code']}/join", json={"display_name": ""})
    assert r.status_code == 422


def test_bad_conference_input_writes_nothing(api: Api) -> None:
    r = api.call("POST", "/conferences", api.admin_token, json={"name": "X", "max_participants": 1})
    assert r.status_code == 422 and "max_participants" in r.json()["error"]["message"]
    r = api.call("POST", "/conferences", api.admin_token, json={"name": "X", "invited": [424242]})
    assert r.status_code == 400 and r.json()["error"]["message"] == "Unknown user id(s): 424242."
    r = api.call("POST", "/conferences", api.admin_token, json={"name": "X", "type": "webinar"})
    assert r.status_code == 422
    assert api.call("GET", "/conferences", api.admin_token).json() == []


def test_only_admin_creates_for_someone_else(api: Api) -> None:
    anna_id, anna = api.user("anna")
    boris_id, _ = api.user("boris")
    r = api.call("POST", "/conferences", anna, json={"name": "Mine", "owner_id": boris_id})
    assert r.status_code == 403
    conf = api.conference(api.admin_token, owner_id=anna_id)
    assert conf["owner_id"] == anna_id


def test_moderation_endpoints_check_the_caller(api: Api) -> None:
    _, anna = api.user("anna")
    conf = api.conference(api.admin_token)
    r = api.call("POST", f"/conferences/{conf['id']}/participants/abc/mute", anna)
    assert r.status_code == 403
    r = api.call("POST", f"/conferences/{conf['id']}/participants/abc/mute", api.admin_token)
    assert r.status_code == 404 and "not in conference" in r.json()["error"]["message"]
    assert api.call("GET", f"/conferences/{conf['id']}/participants", anna).json() == []


def test_the_list_is_paged_newest_first_and_counts_what_the_user_may_see(api: Api) -> None:
    _, carol = api.user("carol")
    _, dave = api.user("dave")
    mine = [api.conference(carol, name=f"Carol {n}")["id"] for n in range(3)]
    api.conference(dave, name="Dave private", access="invited")  # not Carol's to see
    first = api.call("GET", "/conferences", carol, params={"limit": 2})
    assert first.status_code == 200 and first.headers["X-Total-Count"] == "3"
    assert [c["id"] for c in first.json()] == mine[::-1][:2]
    rest = api.call("GET", "/conferences", carol, params={"limit": 2, "offset": 2})
    assert [c["id"] for c in rest.json()] == [mine[0]]
    assert api.call("GET", "/conferences", carol, params={"limit": 0}).status_code == 422
