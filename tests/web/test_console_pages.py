"""The admin console's server-rendered pages: one navigation, paged lists, forms that keep what was typed, human
words, full invite URLs; the home page's new-conference form; the favicon."""

from __future__ import annotations

import html
import re

from tests.web.conftest import ADMIN_PASSWORD, Api
from tests.web.test_admin_api import _bulk_users
from tests.web.test_pages import _hidden, login

CONSOLE = [
    "/admin",
    "/admin/users",
    "/admin/conferences",
    "/admin/servers",
    "/admin/components",
    "/admin/directory",
    "/admin/license",
    "/admin/statistics",
    "/admin/history",
]


def _nav(page: str) -> list[tuple[str, str, bool]]:
    nav = re.search(r'<nav class="console-nav".*?</nav>', page, re.S)
    assert nav, "no console navigation"
    return [
        (href, html.unescape(label), "aria-current" in attrs)
        for href, attrs, label in re.findall(r'<a href="([^"]+)"([^>]*)>([^<]+)</a>', nav.group(0))
    ]


def _text(page: str) -> str:
    """What a reader sees: the page without tags, attributes and option values."""
    return re.sub(r"<[^>]+>", " ", page)


def test_every_console_page_shares_one_navigation_marking_itself(api: Api) -> None:
    login(api, "admin", ADMIN_PASSWORD)
    navs = {}
    for path in CONSOLE:
        page = api.client.get(path)
        assert page.status_code == 200, (path, page.text[:300])
        navs[path] = _nav(page.text)
    labels = [(href, label) for href, label, _ in navs["/admin"]]
    assert [label for _, label in labels] == [
        "Overview",
        "Users",
        "Conferences",
        "Servers & settings",
        "Components",
        "Directory",
        "License",
        "Statistics",
        "History",
    ]
    for path, nav in navs.items():
        assert [(href, label) for href, label, _ in nav] == labels
        assert [href for href, _, current in nav if current] == [path]


def test_non_admins_get_no_console_page(api: Api) -> None:
    api.user("olga")
    login(api, "olga", "olga-password")
    for path in [*CONSOLE, "/admin/users/1", "/admin/conferences/1"]:
        page = api.client.get(path, follow_redirects=False)
        assert page.status_code == 403 and "Only administrators" in page.text, path
        assert "console-nav" not in page.text
    home = api.client.get("/")
    assert 'href="/admin"' not in home.text


def test_the_users_page_is_paged_and_searched(api: Api) -> None:
    _bulk_users(api, 250)
    login(api, "admin", ADMIN_PASSWORD)
    first = api.client.get("/admin/users")
    assert "Users 1–50 of 251" in first.text
    assert first.text.count('<tr data-login="') == 50
    second = api.client.get("/admin/users?page=2")
    logins = re.findall(r'<tr data-login="([^"]+)"', second.text)
    assert logins == [f"user{i:03d}" for i in range(49, 99)]
    assert 'href="/admin/users?page=3"' in second.text and 'href="/admin/users?page=1"' in second.text
    found = api.client.get("/admin/users?q=Person+24")
    assert re.findall(r'<tr data-login="([^"]+)"', found.text) == [f"user24{i}" for i in range(10)]
    assert "Users 1–10 of 10" in found.text
    assert "No users match “nobody”" in api.client.get("/admin/users?q=nobody").text


def test_a_failing_new_user_form_keeps_what_was_typed(api: Api) -> None:
    login(api, "admin", ADMIN_PASSWORD)
    csrf = _hidden(api.client.get("/admin/users").text, "csrf_token")
    r = api.client.post(
        "/admin/users",
        data={
            "login": "olga",
            "display_name": "Ольга",
            "email": "olga@example.org",
            "password": "short",
            "is_admin": "true",
            "csrf_token": csrf,
        },
    )
    assert r.status_code == 400
    assert "The password must be at least 8 characters." in r.text
    assert 'name="login" required value="olga"' in r.text and 'value="Ольга"' in r.text
    assert 'value="olga@example.org"' in r.text and 'name="is_admin" value="true" checked' in r.text
    assert 'value="short"' not in r.text  # a password is never sent back


def test_an_admin_edits_disables_and_deletes_a_user_in_the_console(api: Api) -> None:
    olga, _ = api.user("olga")
    login(api, "admin", ADMIN_PASSWORD)
    page = api.client.get(f"/admin/users/{olga}")
    csrf = _hidden(page.text, "csrf_token")
    r = api.client.post(f"/admin/users/{olga}", data={"display_name": "", "email": "x@y", "csrf_token": csrf})
    assert r.status_code == 400 and "The display name must be 1–128 characters." in r.text
    assert 'value="x@y"' in r.text  # kept
    r = api.client.post(
        f"/admin/users/{olga}", data={"display_name": "Olga P.", "email": "op@example.org", "csrf_token": csrf}
    )
    assert r.status_code == 200 and "Changes to olga saved." in r.text and 'value="Olga P."' in r.text
    r = api.client.post(f"/admin/users/{olga}/disable", data={"csrf_token": csrf})
    assert "olga is disabled" in r.text and "Enable the account" in r.text
    assert api.call("POST", "/auth/token", json={"login": "olga", "password": "olga-password"}).status_code == 401
    r = api.client.post(f"/admin/users/{olga}/password", data={"password": "new-password-9", "csrf_token": csrf})
    assert "The password of olga is set" in r.text
    r = api.client.post(f"/admin/users/{olga}/delete", data={"csrf_token": csrf})
    assert r.status_code == 400 and "Tick “Yes, delete”" in r.text
    r = api.client.post(f"/admin/users/{olga}/delete", data={"confirm": "true", "csrf_token": csrf})
    assert "The account was deleted." in r.text and 'data-login="olga"' not in r.text
    assert api.client.get(f"/admin/users/{olga}").status_code == 404


def test_conferences_show_human_words_and_full_invite_urls(api: Api) -> None:
    api.user("olga")
    conf = api.conference(api.admin_token, name="Retro", type="moderated", access="invited")
    login(api, "admin", ADMIN_PASSWORD)
    page = api.client.get("/admin/conferences")
    text = _text(page.text)
    assert "Moderated (only speakers publish)" in text and "Invited users only" in text
    assert "Everyone sees everyone" in text  # the form's choice
    for raw in ("all_see_all", "moderated ", "invited "):
        assert raw not in text.replace("Moderated", "").replace("Invited", ""), raw
    assert f"http://testserver/join/{conf['invite_code']}" in page.text
    assert conf["url"] in page.text and conf["url"].startswith("http://testserver/c/")


def test_a_failing_conference_form_keeps_what_was_typed(api: Api) -> None:
    login(api, "admin", ADMIN_PASSWORD)
    csrf = _hidden(api.client.get("/admin/conferences").text, "csrf_token")
    typed = {
        "name": "Planning",
        "type": "moderated",
        "max_participants": "12",
        "guests_allowed": "true",
        "access": "invited",
        "invited": "nobody-here",
        "moderators": "",
        "csrf_token": csrf,
    }
    r = api.client.post("/admin/conferences", data=typed)
    assert r.status_code == 400 and "Unknown user “nobody-here”." in r.text
    assert 'value="Planning"' in r.text and 'value="12"' in r.text and 'value="nobody-here"' in r.text
    assert '<option value="moderated" selected>' in r.text and '<option value="invited" selected>' in r.text
    assert 'name="guests_allowed" value="true" checked' in r.text
    r = api.client.post("/admin/conferences", data=typed | {"invited": "admin"})
    assert r.status_code == 200 and "Conference Planning created." in r.text
    conference_id = int(re.search(r'action="/admin/conferences/(\d+)"', r.text).group(1))  # type: ignore[union-attr]
    r = api.client.post(
        f"/admin/conferences/{conference_id}", data=typed | {"invited": "admin", "max_participants": "ten"}
    )
    assert r.status_code == 400 and "whole number" in r.text and 'value="ten"' in r.text
    r = api.client.post(f"/admin/conferences/{conference_id}", data=typed | {"invited": "", "name": "Planning 2"})
    assert "Changes to Planning 2 saved." in r.text
    r = api.client.post(f"/admin/conferences/{conference_id}/delete", data={"confirm": "true", "csrf_token": csrf})
    assert "The conference was deleted." in r.text


def test_any_user_creates_a_conference_from_his_home_page(api: Api) -> None:
    olga, _ = api.user("olga")
    login(api, "olga", "olga-password")
    home = api.client.get("/")
    csrf = _hidden(home.text, "csrf_token")
    r = api.client.post("/conferences/new", data={"name": "\u202e", "type": "moderated", "csrf_token": csrf})
    assert r.status_code == 400 and "text-direction" in r.text and '<option value="moderated" selected>' in r.text
    r = api.client.post("/conferences/new", data={"name": "Olga's sync", "guests_allowed": "true", "csrf_token": csrf})
    assert r.status_code == 200 and "Conference “Olga&#39;s sync” created." in r.text
    created = [c for c in api.call("GET", "/conferences", api.admin_token).json() if c["name"] == "Olga's sync"]
    assert len(created) == 1 and created[0]["owner_id"] == olga and created[0]["guests_allowed"]
    assert created[0]["invite_url"] in r.text
    assert "Everyone sees everyone · up to 50" in r.text
    assert api.client.post("/conferences/new", data={"name": "x", "csrf_token": "forged"}).status_code == 403


def test_the_favicon_is_served_and_linked(api: Api) -> None:
    icon = api.client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.lstrip().startswith("<svg")
    for page in (api.client.get("/login"), api.client.get("/join/nope")):
        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page.text
