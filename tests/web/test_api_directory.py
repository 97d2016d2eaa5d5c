"""The address book API: search (Cyrillic/Latin, prefix/substring, phone, department), visibility by access
level, local and directory users together, presence from a real signaling join, calling a contact and the call
ringing for him alone."""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import timedelta
from typing import Any

import pytest

from tests.web.conftest import Api
from tests.web.test_pages import login
from tests.web.test_signaling_ws import joined, ticket
from veche.base.auth import token_hash
from veche.base.directory.full_sync import FullSync
from veche.base.directory.memory import InMemoryDirectoryServer
from veche.base.directory.sync_service import rules_for
from veche.config.directory import DirectorySource
from veche.container import Container
from veche.domain.clock import utc_now
from veche.domain.directory import DirectoryGroup, DirectoryPerson
from veche.storage.directory import DirectoryStore
from veche.storage.users import SessionStore

SOURCE = DirectorySource(
    name="corp",
    urls=["ldap://memory"],
    user_base_dns=["ou=people"],
    group_base_dns=["ou=groups"],
    group_access={"engineering": "own_groups", "sales": "own_department"},
)


def _person(login: str, name: str, department: str, phone: str = "", disabled: bool = False) -> DirectoryPerson:
    return DirectoryPerson(
        "corp",
        f"id-{login}",
        f"uid={login},ou=people",
        login,
        name,
        f"{login}@corp.test",
        phone,
        department,
        disabled=disabled,
    )


PEOPLE = [
    _person("ivanov", "Иван Иванов", "Разработка", "+7 495 123-45-67"),
    _person("petrova", "Мария Петрова", "Разработка"),
    _person("smith", "John Smith", "Sales"),
    _person("jones", "Anna Jones", "Sales"),
    _person("alena", "Алёна Одинокая", "Бухгалтерия"),
    _person("blocked", "Борис Заблокированный", "Разработка", disabled=True),
]
GROUPS = [
    DirectoryGroup(
        "corp", "g-eng", "cn=engineering,ou=groups", "engineering", ("cn=backend,ou=groups", "cn=frontend,ou=groups")
    ),
    DirectoryGroup("corp", "g-back", "cn=backend,ou=groups", "backend", ("uid=ivanov,ou=people",)),
    DirectoryGroup("corp", "g-front", "cn=frontend,ou=groups", "frontend", ("uid=petrova,ou=people",)),
    DirectoryGroup("corp", "g-sales", "cn=sales,ou=groups", "sales", ("uid=smith,ou=people",)),
]


async def _sync_and_tokens(container: Container) -> dict[str, str]:
    store = DirectoryStore(container.get_database().sessions)
    await FullSync(store, utc_now).run(InMemoryDirectoryServer(SOURCE, PEOPLE, GROUPS), rules_for(SOURCE))
    tokens = {}
    sessions = SessionStore(container.get_database().sessions)
    for p in PEOPLE:
        user_id = await store.user_id_for("corp", p.external_id)
        assert user_id is not None
        token = secrets.token_urlsafe(16)
        now = utc_now()
        await sessions.create(
            token_hash=token_hash(token), user_id=user_id, kind="api", now=now, expires_at=now + timedelta(hours=1)
        )
        tokens[p.login] = token
    return tokens


@pytest.fixture
def people(api: Api) -> dict[str, str]:
    """Bearer tokens of the directory people, after a sync."""
    return dict(api.client.portal.call(_sync_and_tokens, api.container))  # type: ignore[union-attr]


def search(api: Api, token: str, q: str) -> list[dict[str, Any]]:
    response = api.call("GET", "/directory/search", token, params={"q": q})
    assert response.status_code == 200, response.text
    return list(response.json())


def logins(found: list[dict[str, Any]]) -> list[str]:
    return [c["login"] for c in found]


def test_search_by_name_login_email_phone_department(api: Api, people: dict[str, str]) -> None:
    admin = api.admin_token
    assert logins(search(api, admin, "иван")) == ["ivanov"]  # prefix, any case
    assert logins(search(api, admin, "ИВАНОВ")) == ["ivanov"]
    assert logins(search(api, admin, "ванов")) == ["ivanov"]  # substring
    assert logins(search(api, admin, "алена")) == ["alena"]  # ё typed as е
    assert logins(search(api, admin, "smi")) == ["smith"]
    assert logins(search(api, admin, "ohn sm")) == ["smith"]
    assert logins(search(api, admin, "petrova@corp")) == ["petrova"]
    assert logins(search(api, admin, "495 123")) == ["ivanov"]  # phone digits
    assert sorted(logins(search(api, admin, "разраб"))) == ["ivanov", "petrova"]  # department; not the disabled one
    contact = search(api, admin, "ivanov")[0]
    assert contact["display_name"] == "Иван Иванов" and contact["source"] == "corp"
    assert contact["department"] == "Разработка" and contact["presence"] in ("offline", "online")
    assert search(api, admin, "заблок") == []
    # Local users are in the same address book.
    assert [(c["login"], c["source"]) for c in search(api, people["jones"], "administr")] == [("admin", None)]


def test_visibility_by_access_level(api: Api, people: dict[str, str]) -> None:
    # jones has no mapped group: the default level (everyone).
    assert logins(search(api, people["jones"], "иван")) == ["ivanov"]
    # smith is in "sales" (own department): only Sales people.
    assert logins(search(api, people["smith"], "jones")) == ["jones"]
    assert search(api, people["smith"], "иван") == []
    assert search(api, people["smith"], "administr") == []
    ivanov_id = search(api, api.admin_token, "ivanov")[0]["id"]
    assert api.call("GET", f"/directory/contacts/{ivanov_id}", people["smith"]).status_code == 404
    assert api.call("POST", f"/directory/contacts/{ivanov_id}/call", people["smith"]).status_code == 404
    # ivanov is in backend, inside engineering (own groups): petrova shares engineering; alena does not.
    assert logins(search(api, people["ivanov"], "петрова")) == ["petrova"]
    assert search(api, people["ivanov"], "алёна") == []
    assert logins(search(api, people["ivanov"], "иванов")) == ["ivanov"]  # himself


def test_presence_follows_a_real_join(api: Api) -> None:
    anna_id, anna = api.user("anna")
    conference = api.conference(api.admin_token)

    def presence() -> str:
        return str(search(api, api.admin_token, "anna")[0]["presence"])

    assert presence() == "offline"  # logged in, but has not used Veche since
    join_ticket = ticket(api, conference["id"], anna)
    assert presence() == "online"  # a signed-in request
    with joined(api, join_ticket) as (_ws, hello):
        assert hello["type"] == "joined"
        assert presence() == "in_conference"
    for _ in range(50):
        if presence() != "in_conference":
            break
        api.client.portal.call(asyncio.sleep, 0.02)  # type: ignore[union-attr]
    assert presence() == "online"
    assert api.call("POST", "/directory/presence", anna).status_code == 204


def test_call_a_contact(api: Api, people: dict[str, str]) -> None:
    petrova_id = search(api, people["ivanov"], "petrova")[0]["id"]
    response = api.call("POST", f"/directory/contacts/{petrova_id}/call", people["ivanov"])
    assert response.status_code == 201, response.text
    call = response.json()
    slug = api.call("GET", f"/conferences/{call['conference_id']}", people["ivanov"]).json()["url"].rsplit("/", 1)[1]
    assert call["url"] == f"/c/{slug}"  # the page's random address, not the id
    assert api.call("POST", f"/conferences/{call['conference_id']}/join", people["petrova"]).status_code == 200
    assert api.call("POST", f"/conferences/{call['conference_id']}/join", people["jones"]).status_code in (403, 404)


def test_search_needs_a_login_and_sane_input(api: Api, people: dict[str, str]) -> None:
    assert api.call("GET", "/directory/search", params={"q": "x"}).status_code == 401
    assert api.call("GET", "/directory/search", api.admin_token, params={"q": "x" * 101}).status_code == 422
    assert search(api, api.admin_token, "%") == [] and search(api, api.admin_token, "_") == []


def ringing(api: Api, token: str | None, **params: Any) -> Any:
    return api.call("GET", "/directory/calls", token, params=params)


def test_a_call_rings_for_the_callee_alone(api: Api, people: dict[str, str]) -> None:
    petrova_id = search(api, people["ivanov"], "petrova")[0]["id"]
    conference_id = api.call("POST", f"/directory/contacts/{petrova_id}/call", people["ivanov"]).json()["conference_id"]

    answer = ringing(api, people["petrova"])
    assert answer.status_code == 200, answer.text
    [call] = answer.json()["calls"]
    page = api.call("GET", f"/conferences/{conference_id}", people["petrova"]).json()["url"]
    assert call["conference_id"] == conference_id and page.endswith(call["url"])
    assert call["caller"]["display_name"] == "Иван Иванов" and 0 < call["expires_in_s"] <= 60
    # Nobody else sees it, not even the caller; without a login, nothing at all.
    for other in ("ivanov", "jones", "smith"):
        assert ringing(api, people[other]).json() == {"calls": []}
    assert ringing(api, api.admin_token).json() == {"calls": []}
    unauthenticated = ringing(api, None)
    assert unauthenticated.status_code == 401 and unauthenticated.json()["error"]["message"]
    assert api.call("DELETE", f"/directory/calls/{conference_id}").status_code == 401
    # Only the callee may decline it; for anyone else it does not exist.
    assert api.call("DELETE", f"/directory/calls/{conference_id}", people["jones"]).status_code == 404
    assert api.call("DELETE", f"/directory/calls/{conference_id}", people["ivanov"]).status_code == 404
    assert api.call("DELETE", f"/directory/calls/{conference_id}", people["petrova"]).status_code == 204
    assert ringing(api, people["petrova"]).json() == {"calls": []}
    assert api.call("DELETE", f"/directory/calls/{conference_id}", people["petrova"]).status_code == 404


def test_answering_a_call_stops_it_ringing(api: Api, people: dict[str, str]) -> None:
    petrova_id = search(api, people["ivanov"], "petrova")[0]["id"]
    first = api.call("POST", f"/directory/contacts/{petrova_id}/call", people["ivanov"]).json()["conference_id"]
    second = api.call("POST", f"/directory/contacts/{petrova_id}/call", api.admin_token).json()["conference_id"]
    calls = ringing(api, people["petrova"]).json()["calls"]
    assert [c["conference_id"] for c in calls] == [first, second]
    # A page that already shows both waits; it is told at once when one of them is answered.
    waited = ringing(api, people["petrova"], known=[first, second], wait_s=0.1).json()["calls"]
    assert [c["conference_id"] for c in waited] == [first, second]
    with joined(api, ticket(api, first, people["petrova"])) as (_ws, hello):
        assert hello["type"] == "joined"
        still = ringing(api, people["petrova"], known=[first, second], wait_s=5).json()["calls"]
        assert [c["conference_id"] for c in still] == [second]
    assert ringing(api, people["petrova"], wait_s=30).status_code == 422  # waits are bounded


def test_calling_one_contact_again_and_again_makes_one_conference_and_one_ring(
    api: Api, people: dict[str, str]
) -> None:
    petrova_id = search(api, people["ivanov"], "petrova")[0]["id"]
    answers = [api.call("POST", f"/directory/contacts/{petrova_id}/call", people["ivanov"]) for _ in range(20)]
    assert all(a.status_code == 201 for a in answers)
    assert len({a.json()["conference_id"] for a in answers}) == 1  # the same conference, reused
    assert len(ringing(api, people["petrova"]).json()["calls"]) == 1  # one ring, not twenty
    conference_id = answers[0].json()["conference_id"]
    # She calls back: the same conference of the two of them.
    ivanov_id = search(api, people["petrova"], "ivanov")[0]["id"]
    back = api.call("POST", f"/directory/contacts/{ivanov_id}/call", people["petrova"])
    assert back.json()["conference_id"] == conference_id
    # Declined and called again, over and over: a few rings, then "too often".
    codes = []
    for _ in range(8):
        api.call("DELETE", f"/directory/calls/{conference_id}", people["petrova"])
        codes.append(api.call("POST", f"/directory/contacts/{petrova_id}/call", people["ivanov"]).status_code)
    assert 429 in codes and codes.count(201) <= 5, codes
    refused = api.call("POST", f"/directory/contacts/{petrova_id}/call", people["ivanov"])
    assert refused.status_code == 429
    assert "too often" in refused.json()["error"]["message"] and refused.headers.get("retry-after")
    # Call conferences do not pile up among the meetings on the home page.
    call = api.call("POST", f"/directory/contacts/{petrova_id}/call", api.admin_token).json()
    meeting = api.conference(api.admin_token, name="Planning")
    login(api, "admin", "admin-password-1")
    home = api.client.get("/").text
    assert meeting["url"].rsplit("/", 1)[1] in home and call["url"] not in home


def test_address_book_page(api: Api) -> None:
    response = api.client.get("/directory", follow_redirects=False)
    assert response.status_code == 303 and "/login" in response.headers["location"]
    assert api.client.get("/static/directory.js").status_code == 404  # the page runs the TypeScript bundle
    login(api, "admin", "admin-password-1")
    for path in ("/directory", "/"):
        page = api.client.get(path)
        assert page.status_code == 200
        assert '<script type="module" src="/static/build/directory.js">' in page.text
        csrf = re.search(r'id="incoming-calls"[^>]*data-csrf="([^"]+)"', page.text)
        assert csrf, path
    assert 'id="directory-search"' in api.client.get("/directory").text and csrf
    # Declining through the page's cookie needs its CSRF token, as every change does.
    refused = api.client.delete("/api/v1/directory/calls/1")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
    declined = api.client.delete("/api/v1/directory/calls/1", headers={"X-CSRF-Token": csrf.group(1)})
    assert declined.status_code == 404  # nothing rings for the admin
