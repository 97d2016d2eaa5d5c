"""Join tickets stand for one participant session on one server, briefly (issue: hardening item 1)."""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

from sqlalchemy import update

from tests.support.eventually import eventually
from tests.web.conftest import Api
from tests.web.test_signaling_ws import joined as socket
from tests.web.test_signaling_ws import until
from veche.domain.ticket import TICKET_LIFETIME_S, decode_ticket, encode_ticket
from veche.storage.tables import UserRow


def join_answer(api: Api, conf_id: int, token: str, **body: Any) -> dict[str, Any]:
    answer = api.call("POST", f"/conferences/{conf_id}/join", token, json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def live(api: Api, conf_id: int) -> list[dict[str, Any]]:
    return list(api.call("GET", f"/conferences/{conf_id}/participants", api.admin_token).json())


def wait_for(api: Api, probe: Any, what: str) -> Any:
    async def check() -> Any:
        return probe()

    return api.client.portal.call(lambda: eventually(check, bool, timeout=10, interval=0.02, what=what))  # type: ignore[union-attr]


def test_a_ticket_names_its_server_and_epoch_and_lives_two_minutes(api: Api) -> None:
    _, anna = api.user("anna")
    conf = api.conference(api.admin_token)
    answer = join_answer(api, conf["id"], anna)
    ticket = decode_ticket(answer["ticket"], api.container.get_secret_key(), time.time())
    assert ticket.server_id == answer["server_id"] == api.container.server_id
    assert ticket.epoch > 0 and ticket.session == answer["session"]
    assert ticket.expires_at - time.time() <= TICKET_LIFETIME_S == 120


def test_fifty_sockets_with_one_ticket_make_one_participant_not_fifty(api: Api) -> None:
    _, owner = api.user("owner")
    conf = api.conference(owner, max_participants=3, guests_allowed=True)
    answer = api.call("POST", f"/invites/{conf['invite_code']}/join", json={"display_name": "Mallory"}).json()
    with ExitStack() as stack:
        hellos = [stack.enter_context(socket(api, answer["ticket"]))[1] for _ in range(5)]
        assert all(h["type"] == "joined" for h in hellos)
        assert len(live(api, conf["id"])) == 1  # each newer socket replaced the one before
        with socket(api, join_answer(api, conf["id"], owner)["ticket"]) as (_, hello):
            assert hello["type"] == "joined"  # the owner is not shut out of his own conference
            assert len(live(api, conf["id"])) == 2


def test_a_replaced_connection_is_told_why_and_closed(api: Api) -> None:
    _, anna = api.user("anna")
    conf = api.conference(api.admin_token)
    first = join_answer(api, conf["id"], anna)
    with socket(api, first["ticket"]) as (old, _):
        again = join_answer(api, conf["id"], anna, session=first["session"])  # the page reconnecting
        with socket(api, again["ticket"]) as (_, hello):
            assert hello["type"] == "joined"
            ended = until(old, "session_ended")
            assert ended["code"] == "replaced"
            assert [p["id"] for p in live(api, conf["id"])] == [hello["participant"]]


def test_two_tabs_of_one_user_are_two_participants(api: Api) -> None:
    _, anna = api.user("anna")
    conf = api.conference(api.admin_token)
    with (
        socket(api, join_answer(api, conf["id"], anna)["ticket"]),
        socket(api, join_answer(api, conf["id"], anna)["ticket"]),
    ):
        assert len(live(api, conf["id"])) == 2


def test_a_removed_participant_stays_out_until_a_moderator_lets_him_back(api: Api) -> None:
    boris_id, boris = api.user("boris")
    conf = api.conference(api.admin_token)
    with socket(api, join_answer(api, conf["id"], api.admin_token)["ticket"]):
        answer = join_answer(api, conf["id"], boris)
        with socket(api, answer["ticket"]) as (ws, hello):
            removed = api.call(
                "DELETE", f"/conferences/{conf['id']}/participants/{hello['participant']}", api.admin_token
            )
            assert removed.status_code == 204
            assert until(ws, "removed")
        # The same ticket, and a new one, are refused while he is removed.
        for ticket in (answer["ticket"], join_answer(api, conf["id"], boris)["ticket"]):
            with socket(api, ticket) as (_, refused):
                assert refused["type"] == "error" and refused["code"] == "removed"
                assert "moderator" in refused["message"]
        listed = api.call("GET", f"/conferences/{conf['id']}/removed", api.admin_token).json()
        assert [r["identity"] for r in listed] == [f"user:{boris_id}"]
        back = api.call("POST", f"/conferences/{conf['id']}/removed/user:{boris_id}/readmit", api.admin_token)
        assert back.status_code == 204
        with socket(api, join_answer(api, conf["id"], boris)["ticket"]) as (_, hello):
            assert hello["type"] == "joined"


def test_a_removed_guest_stays_out_when_he_asks_again_from_the_same_browser(api: Api) -> None:
    conf = api.conference(api.admin_token, guests_allowed=True)
    guest_join = f"/invites/{conf['invite_code']}/join"
    with socket(api, join_answer(api, conf["id"], api.admin_token)["ticket"]):
        answer = api.call("POST", guest_join, json={"display_name": "Mallory"}).json()
        with socket(api, answer["ticket"]) as (ws, hello):
            api.call("DELETE", f"/conferences/{conf['id']}/participants/{hello['participant']}", api.admin_token)
            until(ws, "removed")
        again = api.call("POST", guest_join, json={"display_name": "Mallory II"}).json()  # same cookie jar
        with socket(api, again["ticket"]) as (_, refused):
            assert refused["code"] == "removed"


def test_signing_out_ends_the_calls_of_that_sign_in_only(api: Api) -> None:
    _, anna = api.user("anna")
    phone = api.call("POST", "/auth/token", json={"login": "anna", "password": "anna-password"}).json()["token"]
    conf = api.conference(api.admin_token)
    with socket(api, join_answer(api, conf["id"], anna)["ticket"]) as (laptop_ws, _):
        with socket(api, join_answer(api, conf["id"], phone)["ticket"]) as (phone_ws, _):
            assert api.call("DELETE", "/auth/token", anna).status_code == 204
            ended = until(laptop_ws, "session_ended")
            assert ended["code"] == "signed_out"
            wait_for(api, lambda: api.container.get_app_service().participants == 1, "only the phone's connection")
            phone_ws.send_json({"type": "ping", "id": 9})
            assert until(phone_ws, "pong")["id"] == 9


def test_a_disabled_account_loses_its_calls_within_seconds(api: Api) -> None:
    anna_id, anna = api.user("anna")
    api.container.get_app_service()._account_check_s = 0.1  # noqa: SLF001 - the check runs every 5 s by default
    conf = api.conference(api.admin_token)
    with socket(api, join_answer(api, conf["id"], anna)["ticket"]) as (ws, _):

        async def disable() -> None:  # as a directory sync or the console would
            async with api.container.get_database().sessions.begin() as session:
                await session.execute(update(UserRow).where(UserRow.id == anna_id).values(disabled=True))

        api.client.portal.call(disable)  # type: ignore[union-attr]
        ended = until(ws, "session_ended")
        assert ended["code"] == "account_disabled"


def test_a_ticket_for_another_server_or_an_older_epoch_is_stale_and_the_client_asks_again(api: Api) -> None:
    _, anna = api.user("anna")
    conf = api.conference(api.admin_token)
    key = api.container.get_secret_key()
    answer = join_answer(api, conf["id"], anna)
    ticket = decode_ticket(answer["ticket"], key, time.time())
    elsewhere = encode_ticket(replace(ticket, server_id="another-server"), key)
    with socket(api, elsewhere) as (ws, refused):
        assert refused["code"] == "stale_ticket"
        closed = ws.receive()
        assert closed["type"] == "websocket.close" and closed["code"] == 4010  # reconnect with a new ticket
    with socket(api, answer["ticket"]) as (_, hello):
        assert hello["type"] == "joined"  # the room runs under this epoch now
        older = encode_ticket(replace(ticket, epoch=ticket.epoch - 1, session="0" * 32), key)
        with socket(api, older) as (_, refused):
            assert refused["code"] == "stale_ticket"
