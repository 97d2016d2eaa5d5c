"""A conference's chat history comes from the base role's store, not from the app server's memory: it is there after
the room closed (its app server forgot it) and after a restart of the whole server, by pages, searchable, for the
conference's members and guests only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.web.conftest import ADMIN_PASSWORD, Api, FakeEngineContainer, _create_admin
from tests.web.test_signaling_ws import joined, stored_texts, ticket, until
from veche.config.settings import load_settings
from veche.container import ALL_ROLES
from veche.web.app import create_app


def _history(api: Api, token: str | None, conference_id: int, **params: Any) -> Any:
    return api.call("GET", f"/chats/conferences/{conference_id}/messages", token, params=params)


def test_history_outlives_the_room_by_pages_for_members_only(api: Api) -> None:
    _, anna = api.user("anna")
    boris_id, boris = api.user("boris")
    _, eve = api.user("eve")
    conf = api.conference(anna, access="invited", invited=[boris_id], guests_allowed=True)
    with joined(api, ticket(api, conf["id"], anna)) as (ws, _):
        for n in range(5):
            ws.send_json({"type": "chat", "id": 10 + n, "text": f"point {n}"})
            until(ws, "chat")
    stored_texts(api, conf["id"], 5)  # the room is closed now: nobody is in it

    newest = _history(api, boris, conf["id"], limit=2).json()
    assert [m["text"] for m in newest["messages"]] == ["point 3", "point 4"] and newest["more"]
    assert newest["messages"][0]["display_name"] == "Anna"
    older = _history(api, boris, conf["id"], limit=10, before=newest["messages"][0]["id"]).json()
    assert [m["text"] for m in older["messages"]] == ["point 0", "point 1", "point 2"] and not older["more"]
    found = _history(api, anna, conf["id"], q="POINT 2").json()["messages"]
    assert [m["text"] for m in found] == ["point 2"]

    # Not invited, or no such conference: the same 404; not signed in: 401.
    refused, missing = _history(api, eve, conf["id"]), _history(api, eve, 987654)
    assert refused.status_code == missing.status_code == 404
    assert "point" not in refused.text
    assert _history(api, None, conf["id"]).status_code == 401

    # Guests read it by the invite code, while the conference allows guests.
    guest = api.call("GET", f"/chats/invites/{conf['invite_code']}/messages", params={"limit": 1}).json()
    assert [m["text"] for m in guest["messages"]] == ["point 4"]
    assert api.call("GET", "/chats/invites/not-a-code/messages").status_code == 404


def test_history_survives_a_restart(tmp_path: Path) -> None:
    settings = load_settings(None, data_dir=tmp_path)

    def serve() -> tuple[TestClient, FakeEngineContainer]:
        container = FakeEngineContainer(settings, ALL_ROLES)
        return TestClient(create_app(container)), container

    client, container = serve()
    with client:
        client.portal.call(_create_admin, container)  # type: ignore[union-attr]
        token = client.post("/api/v1/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD}).json()["token"]
        api = Api(client=client, container=container, admin_token=token)
        conf = api.conference(token)
        with joined(api, ticket(api, conf["id"], token)) as (ws, _):
            ws.send_json({"type": "chat", "id": 2, "text": "said before the restart"})
            until(ws, "chat")
        stored_texts(api, conf["id"], 1)

    client, container = serve()
    with client:
        api = Api(client=client, container=container, admin_token=token)
        after = _history(api, token, conf["id"]).json()["messages"]
        assert [m["text"] for m in after] == ["said before the restart"]
