"""The call history pages: a user's own /history (linked from his home page) and the console's /admin/history with
its filters and CSV link."""

from __future__ import annotations

import re

from tests.web.conftest import ADMIN_PASSWORD, Api
from tests.web.test_history_api import a_call, settled_history
from tests.web.test_pages import login


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_a_user_sees_his_calls_from_his_home_page(api: Api) -> None:
    conference, tokens, _ = a_call(api)
    settled_history(api, tokens["anna"], participants=2)
    login(api, "anna", "anna-password")
    home = api.client.get("/")
    assert 'href="/history"' in home.text
    page = api.client.get("/history")
    assert page.status_code == 200
    text = _text(page.text)
    assert conference["name"] in text and "Anna" in text and "Boris" in text
    assert "API client" in text and "1 call" in text
    assert 'href="/api/v1/history.csv?mine=true"' in page.text
    exported = api.client.get("/api/v1/history.csv?mine=true")  # the link works with the page's session cookie
    assert exported.status_code == 200 and exported.text.count("\n") == 3


def test_someone_else_sees_none_of_it(api: Api) -> None:
    _, tokens, _ = a_call(api)
    settled_history(api, tokens["anna"], participants=2)
    login(api, "carol", "carol-password")
    page = api.client.get("/history")
    assert page.status_code == 200 and "No calls yet" in page.text and "Anna" not in page.text
    assert api.client.get("/admin/history", follow_redirects=False).status_code == 403


def test_the_console_filters_the_history_and_links_the_csv_with_the_same_filters(api: Api) -> None:
    conference, tokens, ids = a_call(api)
    settled_history(api, api.admin_token, participants=2)
    login(api, "admin", ADMIN_PASSWORD)
    page = api.client.get("/admin/history")
    assert page.status_code == 200 and 'aria-current="page"' in page.text
    text = _text(page.text)
    assert conference["name"] in text and f"server {api.container.server_id}" in text
    mine = api.client.get("/admin/history", params={"user": "boris", "kind": "api"})
    assert "Boris" in _text(mine.text)
    assert f"/api/v1/history.csv?user_id={ids['boris']}&amp;kind=api" in mine.text
    nobody = api.client.get("/admin/history", params={"user": "carol"})
    assert "No calls match these filters" in nobody.text
    wrong = api.client.get("/admin/history", params={"user": "nobody-here", "since": "yesterday"})
    assert wrong.status_code == 400 and "Unknown user" in wrong.text
    assert 'value="nobody-here"' in wrong.text  # what was typed stays
    early = api.client.get("/admin/history", params={"until": "2000-01-01T00:00"})
    assert "No calls match" in early.text
