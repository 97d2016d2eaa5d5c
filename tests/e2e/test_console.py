"""The admin console in a real Chromium against `veche up`: one navigation on every page, the overview's live
figures, the users list paged, and a form that fails keeping what was typed."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from .browser import BrowserSession, UserAccount, Veche

pytestmark = [pytest.mark.browser, pytest.mark.janus]

NAVIGATION = [
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


async def _admin(veche: Veche) -> BrowserSession:
    session = await veche.new_session()
    server = veche.server
    await session.login(UserAccount(0, server.admin_login, "Administrator", server.admin_password), "/admin")
    return session


async def test_every_console_page_shows_the_same_navigation(veche: Veche) -> None:
    admin = await _admin(veche)
    page = admin.page
    nav = page.get_by_role("navigation", name="Admin console")
    for label in NAVIGATION:
        await nav.get_by_role("link", name=label, exact=True).click()
        await expect(nav.get_by_role("link")).to_have_text(NAVIGATION)
        current = nav.locator('[aria-current="page"]')
        await expect(current).to_have_text([label])
        await expect(page.get_by_role("heading", level=1)).to_be_visible()


async def test_the_overview_shows_servers_up_and_participants_now(veche: Veche) -> None:
    admin = await _admin(veche)
    page = admin.page
    await expect(page.locator("#overview-servers-up")).to_have_text("1")
    await expect(page.locator("#overview-servers-down")).to_have_text("0")
    await expect(page.locator("#overview-participants")).to_have_text("0")
    conference = veche.create_conference()
    someone = await veche.user_in_conference(veche.create_user("Dana"), conference["id"])
    await someone.wait_status("connected")
    await expect(page.locator("#overview-participants")).to_have_text("1", timeout=15_000)
    await expect(page.locator("#overview-conferences")).to_have_text("1")
    await expect(page.locator("#overview-no-alerts")).to_be_visible()
    await someone.context.close()
    await expect(page.locator("#overview-participants")).to_have_text("0", timeout=15_000)


async def test_the_users_page_pages_through(veche: Veche) -> None:
    for _ in range(60):
        veche.create_user()
    total = int(
        veche.server.api("GET", "/api/v1/users?limit=1", token=veche.server.admin_token).headers["X-Total-Count"]
    )
    assert total > 50
    admin = await _admin(veche)
    page = admin.page
    await page.get_by_role("navigation", name="Admin console").get_by_role("link", name="Users").click()
    await expect(page.locator("#users-range").first).to_have_text(f"Users 1–50 of {total}")
    await expect(page.locator("#users tbody tr")).to_have_count(50)
    first_page = await page.locator("#users tbody tr td:first-child").all_text_contents()
    await page.locator("#users-next").first.click()
    await expect(page.locator("#users-range").first).to_have_text(f"Users 51–{min(total, 100)} of {total}")
    second_page = await page.locator("#users tbody tr td:first-child").all_text_contents()
    assert not set(first_page) & set(second_page)
    assert first_page + second_page == sorted(first_page + second_page)
    await page.fill("#users-search", second_page[0])
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#users tbody tr td:first-child")).to_have_text([second_page[0]])


async def test_a_failing_form_keeps_what_was_typed(veche: Veche) -> None:
    taken = veche.create_user()
    admin = await _admin(veche)
    page = admin.page
    await page.goto(f"{veche.url}/admin/users")
    form = page.locator("#new-user")
    await form.get_by_label("Login").fill(taken.login)
    await form.get_by_label("Display name").fill("Ярослава Новая")
    await form.get_by_label("Email").fill("yaroslava@example.test")
    await form.get_by_label("Password").fill("a-good-password")
    await form.get_by_label("Administrator").check()
    await form.get_by_role("button", name="Create user").click()
    await expect(page.locator("#form-error")).to_have_text(f"A user with the login “{taken.login}” already exists.")
    form = page.locator("#new-user")
    await expect(form.get_by_label("Login")).to_have_value(taken.login)
    await expect(form.get_by_label("Display name")).to_have_value("Ярослава Новая")
    await expect(form.get_by_label("Email")).to_have_value("yaroslava@example.test")
    await expect(form.get_by_label("Administrator")).to_be_checked()
    await expect(form.get_by_label("Password")).to_have_value("")
    answer = veche.server.api("GET", "/api/v1/users?q=yaroslava", token=veche.server.admin_token)
    assert answer.json() == []  # the refused form made nobody
