"""An invite-only conference is invisible to those not invited: the same answers as for one that does not exist,
and no guessable page addresses (hardening item 6)."""

from __future__ import annotations

import re

from tests.web.conftest import Api
from tests.web.test_pages import login


def test_joining_a_private_conference_answers_as_if_it_did_not_exist(api: Api) -> None:
    bob_id, bob = api.user("bob")
    _, eve = api.user("eve")
    private = api.conference(bob, name="Bob private", access="invited")
    missing_id = private["id"] + 1000
    hidden = api.call("POST", f"/conferences/{private['id']}/join", eve)
    missing = api.call("POST", f"/conferences/{missing_id}/join", eve)
    assert hidden.status_code == missing.status_code == 404
    assert "Bob private" not in hidden.text
    assert hidden.json()["error"]["message"].replace(str(private["id"]), "N") == missing.json()["error"][
        "message"
    ].replace(str(missing_id), "N")
    assert api.call("GET", f"/conferences/{private['id']}", eve).status_code == 404
    assert api.call("POST", f"/conferences/{private['id']}/join", bob).status_code == 200


def test_conference_pages_have_random_addresses_and_hide_private_ones(api: Api) -> None:
    _, bob = api.user("bob")
    private = api.conference(bob, name="Bob private", access="invited")
    open_one = api.conference(bob, name="Open one")
    slugs = [c["url"].rsplit("/", 1)[1] for c in (private, open_one)]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{12}", s) for s in slugs) and slugs[0] != slugs[1]
    assert not slugs[0].isdigit() and slugs[0] != str(private["id"])  # random, not the id (which may appear by chance)
    api.user("eve")
    login(api, "eve", "eve-password")
    hidden = api.client.get(private["url"])
    missing = api.client.get("/c/AAAAAAAAAAAA")
    assert hidden.status_code == missing.status_code == 404
    assert "Bob private" not in hidden.text and hidden.text == missing.text
    assert api.client.get(f"/c/{private['id']}").status_code == 404  # the sequential id is no address
    shown = api.client.get(open_one["url"])
    assert shown.status_code == 200 and "Open one" in shown.text
