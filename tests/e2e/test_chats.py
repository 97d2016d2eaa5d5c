"""Persistent chat in a real browser against the real server: two people chat in a direct chat (presence, unread
count, messages arriving live), and a conference page scrolls back through stored history older than the room's."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from .browser import BrowserSession, UserAccount, Veche, eventually

pytestmark = [pytest.mark.browser, pytest.mark.janus]


def _token(veche: Veche, account: UserAccount) -> str:
    answer = veche.server.api("POST", "/api/v1/auth/token", json={"login": account.login, "password": account.password})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


async def _chats_page(veche: Veche, account: UserAccount) -> BrowserSession:
    session = await veche.new_session()
    await session.login(account, "/chats")
    assert session.page.url.endswith("/chats"), session.page.url
    return session


async def test_two_people_chat_with_presence_and_unread_counts(veche: Veche) -> None:
    anna, bob = veche.create_user("Anna Chat"), veche.create_user("Bob Chat")
    made = veche.server.api("POST", "/api/v1/chats/direct", token=_token(veche, anna), json={"user_id": bob.id})
    assert made.status_code == 200, made.text
    chat_id = made.json()["id"]

    a = await _chats_page(veche, anna)
    b = await _chats_page(veche, bob)
    a_item = a.page.locator(f'.chats-item[data-chat-id="{chat_id}"]')
    b_item = b.page.locator(f'.chats-item[data-chat-id="{chat_id}"]')
    # Each sees the other, online (his page is open).
    await b_item.locator(".chats-item-title", has_text="Anna Chat").wait_for(timeout=10_000)
    await b_item.locator(".presence-text", has_text="online").wait_for(timeout=10_000)
    # Anna's page had listed Bob before he came: his presence changes at the page's next refresh (every 15 s).
    await a_item.locator(".presence-text", has_text="online").wait_for(timeout=30_000)

    await a_item.locator("button").click()
    await a.page.locator("#chats-open-title", has_text="Bob Chat").wait_for()
    await a.page.fill("#chats-input", "Hello Bob, lunch at noon?")
    await a.page.click("#chats-send")
    await a.page.locator("#chats-log .chat-text", has_text="lunch at noon").wait_for()

    # Bob has not opened the chat: it counts one unread message, live.
    await b_item.locator(".chats-unread:not([hidden])", has_text="1").wait_for(timeout=10_000)
    await b_item.locator(".chats-item-preview", has_text="lunch at noon").wait_for()
    await b_item.locator("button").click()
    await b.page.locator("#chats-log .chat-text", has_text="Hello Bob, lunch at noon?").wait_for()
    await b_item.locator(".chats-unread[hidden]").wait_for(state="attached", timeout=10_000)

    await b.page.fill("#chats-input", "Yes, see you there")
    await b.page.press("#chats-input", "Enter")
    # It arrives on Anna's open chat without a reload, and is not unread for her (she is reading it).
    await a.page.locator("#chats-log .chat-text", has_text="see you there").wait_for(timeout=10_000)

    async def anna_unread() -> str | None:
        return await a_item.locator(".chats-unread").get_attribute("hidden")

    await eventually(anna_unread, lambda hidden: hidden is not None, timeout=10, what="Anna's chat read")


def _seed_history(veche: Veche, conference_id: int, count: int) -> None:
    """Stored history as if said over months (inserted into the server's database, as the archive would)."""
    start = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=30)  # stored as naive UTC on SQLite
    with sqlite3.connect(veche.server.data_dir / "veche.db") as db:
        db.executemany(
            "INSERT INTO chat_messages (conference_id, sender, display_name, text, created_at) VALUES (?, ?, ?, ?, ?)",
            [
                (
                    conference_id,
                    "p-old",
                    "Old Timer",
                    f"old message {n}",
                    (start + timedelta(minutes=n)).strftime("%Y-%m-%d %H:%M:%S.%f"),
                )
                for n in range(count)
            ],
        )


async def test_the_conference_page_scrolls_back_to_older_messages(veche: Veche) -> None:
    user = veche.create_user("Scroller")
    conf = veche.create_conference(access="open")
    _seed_history(veche, conf["id"], 130)
    session = await veche.user_in_conference(user, conf["id"])
    log = session.page.locator("#chat-log")
    await log.locator(".chat-text", has_text="old message 129").wait_for(timeout=30_000)
    assert await log.locator(".chat-text", has_text="old message 0").count() == 0

    async def scrolled_back() -> int:
        await log.evaluate("log => { log.scrollTop = 0; log.dispatchEvent(new Event('scroll')); }")
        return await log.locator(".chat-message").count()

    await eventually(scrolled_back, lambda n: n >= 130, timeout=20, what="all 130 stored messages")
    await log.locator(".chat-text", has_text="old message 0").wait_for()
    texts = await log.locator(".chat-text").all_text_contents()
    assert texts[:3] == ["old message 0", "old message 1", "old message 2"]
    assert await log.get_attribute("data-history-complete") == "1"

    # Said now, it follows the stored history.
    await session.page.fill("#chat-input", "new message")
    await session.page.click("#chat-send")
    await log.locator(".chat-text", has_text="new message").wait_for()
    assert (await log.locator(".chat-text").all_text_contents())[-1] == "new message"
