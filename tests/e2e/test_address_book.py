"""The address book in a real browser against the real server, its Janus and a real slapd: what people notice.

This module runs its own ``veche up`` following a throwaway OpenLDAP: the "sales" group may see only its own
department, everyone else sees everyone. Local users (created by the administrator) are in the same address book.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Response

from tests.directory.slapd import (
    ADMIN_DN,
    ADMIN_PASSWORD,
    BASE_DN,
    Person,
    Slapd,
    group_ldif,
    ldif_entries,
    person_ldif,
    running_slapd,
)
from tests.support.server import VecheServer

from .browser import BrowserSession, UserAccount, Veche, eventually

pytestmark = [pytest.mark.browser, pytest.mark.janus]

SMITH = Person("smith", "John", "Smith", "smith-pass", "smith@corp.test", "+1 555 0100", "Sales", "Account manager")
JONES = Person("jones", "Anna", "Jones", "jones-pass", "jones@corp.test", "", "Sales")
IVANOV = Person("ivanov", "Иван", "Иванов", "ivanov-pass", "ivanov@corp.test", "+7 495 123-45-67", "Разработка")
PEOPLE = [SMITH, JONES, IVANOV]


def _config(slapd: Slapd, password_file: str) -> str:
    return f"""
[directory]
local_access = "everyone"

[[directory.sources]]
name = "corp"
kind = "openldap"
urls = ["{slapd.url}"]
bind_dn = "{ADMIN_DN}"
bind_password_file = "{password_file}"
user_base_dns = ["ou=people,{BASE_DN}"]
group_base_dns = ["ou=groups,{BASE_DN}"]
group_access = {{ "sales" = "own_department" }}
default_access = "everyone"
"""


@pytest.fixture(scope="module")
def veche_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VecheServer]:
    """Overrides the session's server for this module: ``veche up`` with a directory source on a fresh slapd."""
    seed = [ldif_entries(), *(person_ldif(p) for p in PEOPLE), group_ldif("sales", [SMITH.dn])]
    with running_slapd(seed) as slapd:
        root = tmp_path_factory.mktemp("veche-address-book")
        password_file = root / "bind-password"
        password_file.write_text(ADMIN_PASSWORD + "\n")
        config = root / "veche.toml"
        config.write_text(_config(slapd, str(password_file)))
        server = VecheServer.start(root=root, extra_args=("--config", str(config)))
        try:
            yield server
        finally:
            server.stop()


def _search(server: VecheServer, token: str, q: str) -> list[dict[str, Any]]:
    response = server.api("GET", f"/api/v1/directory/search?q={q}", token=token)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def _synced(veche: Veche) -> dict[str, int]:
    """Waits for the server's first sync of the directory; the people's user ids by login."""

    async def people() -> list[dict[str, Any]]:
        return _search(veche.server, veche.server.admin_token, "corp.test")

    found = await eventually(people, lambda p: len(p) == len(PEOPLE), timeout=60, what="the directory synced")
    return {c["login"]: int(c["id"]) for c in found}


def _person(person: Person, ids: dict[str, int]) -> UserAccount:
    return UserAccount(ids[person.uid], person.uid, person.cn, person.password)


class AddressBookPage:
    """Someone on /directory."""

    def __init__(self, session: BrowserSession) -> None:
        self.session = session
        self.page = session.page

    @classmethod
    async def open(cls, veche: Veche, account: UserAccount) -> AddressBookPage:
        session = await veche.new_session()
        await session.login(account, "/directory")
        assert session.page.url.endswith("/directory"), session.page.url
        return cls(session)

    async def search(self, text: str) -> None:
        """Type ``text`` and wait for the answer to that search (typing is debounced)."""

        def answers(response: Response) -> bool:
            url = urlsplit(response.url)
            return url.path == "/api/v1/directory/search" and parse_qs(url.query).get("q") == [text]

        async with self.page.expect_response(answers) as answer:
            await self.page.fill("#directory-search", text)
        await (await answer.value).finished()

    async def status(self) -> str:
        return (await self.page.text_content("#directory-status")) or ""

    async def names(self) -> list[str]:
        names: list[str] = await self.page.locator("#directory-results .contact-name").all_text_contents()
        return names

    async def presence(self, user_id: int) -> str:
        badge = self.page.locator(f'#directory-results li[data-id="{user_id}"] .presence-text')
        return (await badge.text_content() or "") if await badge.count() else "(not shown)"


async def test_search_shows_the_people_the_viewer_may_see(veche: Veche) -> None:
    ids = await _synced(veche)
    # smith is in "sales": he sees his own department only.
    smith = await AddressBookPage.open(veche, _person(SMITH, ids))
    await smith.search("corp.test")
    await eventually(smith.status, lambda s: s == "2 people found.", what="smith's results")
    assert sorted(await smith.names()) == ["Anna Jones", "John Smith"]
    row = smith.page.locator(f'li[data-id="{ids["jones"]}"]')
    assert "jones@corp.test" in (await row.text_content() or "")
    assert await row.get_by_role("button", name="Call Anna Jones").is_enabled()
    assert await smith.presence(ids["jones"]) == "offline"  # has not signed in
    assert await smith.presence(ids["smith"]) == "online"  # himself, using Veche right now
    # Иванов exists, but not for him: the search finds no one, and the API hides him as if he did not exist.
    await smith.search("иван")
    await eventually(smith.status, lambda s: s == "No one found.", what="'No one found.'")
    assert await smith.names() == []
    hidden = await smith.page.request.get(f"{veche.url}/api/v1/directory/contacts/{ids['ivanov']}")
    assert hidden.status == 404

    # jones is in no mapped group: she sees everyone, directory and local users.
    local = veche.create_user(f"Local Person {secrets.token_hex(2)}")
    jones = await AddressBookPage.open(veche, _person(JONES, ids))
    await jones.search("иван")
    await eventually(jones.names, lambda n: n == ["Иван Иванов"], what="jones finding Иванов")
    assert "Разработка" in (await jones.page.text_content("#directory-results") or "")
    await jones.search(local.login)
    await eventually(jones.names, lambda n: n == [local.display_name], what="jones finding a local user")
    await smith.search(local.login)
    await eventually(smith.status, lambda s: s == "No one found.", what="smith not finding a local user")


async def test_presence_follows_a_contact_into_a_call_and_out(veche: Veche) -> None:
    viewer, contact = veche.create_user("Viewer"), veche.create_user(f"Contact {secrets.token_hex(2)}")
    conference = veche.create_conference()
    book = await AddressBookPage.open(veche, viewer)
    await book.search(contact.login)
    await eventually(book.names, lambda n: n == [contact.display_name], what="the contact in the results")
    assert await book.presence(contact.id) == "offline"

    other = await veche.new_session()
    await other.login(contact, "/")
    await eventually(lambda: book.presence(contact.id), lambda p: p == "online", what="online after signing in")
    await other.page.goto(conference["url"])
    await other.wait_status("connected")
    await eventually(lambda: book.presence(contact.id), lambda p: p == "in a conference", what="in a conference")
    dot = book.page.locator(f'li[data-id="{contact.id}"] .presence')
    assert "presence-in_conference" in (await dot.get_attribute("class") or "")

    await other.page.click("#btn-leave")
    await eventually(lambda: book.presence(contact.id), lambda p: p == "online", what="online after leaving")


async def test_calling_a_contact_rings_on_his_page_and_brings_both_together(veche: Veche) -> None:
    caller, callee = veche.create_user(f"Caller {secrets.token_hex(2)}"), veche.create_user("Callee")
    home = await veche.new_session()
    await home.login(callee, "/")
    banners = home.page.locator("#incoming-calls .incoming-call")

    # A call he declines stops ringing, for him and for the server.
    caller_token = veche.server.login(caller.login, caller.password)
    veche.server.api("POST", f"/api/v1/directory/contacts/{callee.id}/call", token=caller_token).raise_for_status()
    await banners.first.wait_for(timeout=10_000)
    await banners.first.get_by_role("button", name="Decline").click()
    await banners.first.wait_for(state="detached", timeout=10_000)
    callee_token = veche.server.login(callee.login, callee.password)
    assert veche.server.api("GET", "/api/v1/directory/calls", token=callee_token).json() == {"calls": []}

    # The caller finds him in the address book and calls: his page says it rings.
    book = await AddressBookPage.open(veche, caller)
    await book.search(callee.login)
    await eventually(book.names, lambda n: n == [callee.display_name], what="the callee in the results")
    await book.page.get_by_role("button", name=f"Call {callee.display_name}").click()
    await book.page.locator("#outgoing-call", has_text=f"Ringing {callee.display_name}").wait_for(timeout=10_000)

    # The callee's page rings; he joins, and the caller's page follows him into the new conference.
    banner = banners.filter(has_text=f"{caller.display_name} is calling you")
    await banner.wait_for(timeout=10_000)
    async with home.page.expect_navigation():
        await banner.get_by_role("button", name="Join").click()
    await book.page.wait_for_url("**/c/**", timeout=15_000)
    conference_path = book.page.url.removeprefix(veche.url)
    assert home.page.url.endswith(conference_path), (home.page.url, conference_path)
    await book.session.wait_status("connected")
    await home.wait_status("connected")

    caller_id, callee_id = await book.session.participant_id(), await home.participant_id()
    assert caller_id and callee_id
    await book.page.wait_for_selector(f'#participants li[data-participant="{callee_id}"]')
    await home.page.wait_for_selector(f'#participants li[data-participant="{caller_id}"]')
    # Answered: it no longer rings anywhere.
    assert veche.server.api("GET", "/api/v1/directory/calls", token=callee_token).json() == {"calls": []}
