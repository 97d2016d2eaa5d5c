"""Issue 10's browser test for files: in a group chat one member sends a file with the attach button (and is told
in words why a program is refused), another member sees it in the chat and downloads it under its name with its
content; a signed-in non-member opening the file's link gets 404, the same answer as for a file that does not
exist. In a conference's chat, a guest (invite link, no account) downloads the host's file and sends one back.

Real Chromium against the real ``veche up`` (the /chats page, frontend/src/chat_files.ts). Run inside the test
network namespace: ``scripts/netns-run .venv/bin/pytest -q tests/e2e/test_chat_files.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .browser import UserAccount, Veche

pytestmark = pytest.mark.browser

CONTENT = b"%PDF-1.7\n" + "Протокол: all agreed.\n".encode() * 200
NAME = "Протокол встречи.pdf"


def _token(veche: Veche, account: UserAccount) -> str:
    return veche.server.login(account.login, account.password)


async def test_a_member_sends_a_file_another_downloads_it_a_non_member_gets_404(veche: Veche, tmp_path: Path) -> None:
    alice, bob, eve = veche.create_user("Alice"), veche.create_user("Bob"), veche.create_user("Eve")
    created = veche.server.api(
        "POST", "/api/v1/chats/groups", _token(veche, alice), json={"title": "Board", "member_ids": [bob.id]}
    )
    assert created.status_code == 201, created.text
    chat_id = created.json()["id"]
    upload = tmp_path / NAME
    upload.write_bytes(CONTENT)

    sender = await veche.new_session()
    await sender.login(alice)
    await sender.page.goto(f"{veche.url}/chats?chat={chat_id}")
    await sender.page.locator("#chats-open input.chat-attach-input").set_input_files(str(upload))
    await sender.page.locator("#chats-open .chat-attach-status[data-state=sent]").wait_for(timeout=30_000)
    await sender.page.locator("#chats-log a.chat-attachment-link", has_text=NAME).wait_for(timeout=30_000)
    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ\x90\x00" + b"\x00" * 100)
    await sender.page.locator("#chats-open input.chat-attach-input").set_input_files(str(program))
    refusal = sender.page.locator("#chats-open .chat-attach-status[data-state=error]")
    await refusal.wait_for(timeout=30_000)
    assert ".exe files may not be sent here" in await refusal.inner_text()

    reader = await veche.new_session()
    await reader.login(bob)
    await reader.page.goto(f"{veche.url}/chats?chat={chat_id}")
    link = reader.page.locator("#chats-log a.chat-attachment-link", has_text=NAME)
    await link.wait_for(timeout=30_000)
    async with reader.page.expect_download() as downloading:
        await link.click()
    download = await downloading.value
    assert download.suggested_filename == NAME
    saved = tmp_path / "downloaded.pdf"
    await download.save_as(saved)
    assert saved.read_bytes() == CONTENT

    href = await link.get_attribute("href")
    assert href is not None
    outsider = await veche.new_session()
    await outsider.login(eve)
    refused = await outsider.page.goto(f"{veche.url}{href}")
    assert refused is not None
    refused_body = await refused.text()
    unknown = await outsider.page.goto(f"{veche.url}/api/v1/files/{'A' * 43}")
    assert unknown is not None
    assert refused.status == unknown.status == 404
    assert refused_body == await unknown.text()


async def test_in_a_conference_a_guest_downloads_the_hosts_file_and_sends_one(veche: Veche, tmp_path: Path) -> None:
    host = veche.create_user("Host")
    conference = veche.create_conference(guests_allowed=True)
    upload = tmp_path / "agenda.txt"
    upload.write_text("1. Budget\n2. Hiring\n")

    h = await veche.user_in_conference(host, conference["id"])
    await h.wait_status("connected")
    guest = await veche.new_session()
    await guest.page.goto(f"{veche.url}/join/{conference['invite_code']}")
    await guest.page.fill("#guest-name", "Visiting Guest")
    await guest.page.click("#guest-join")
    await guest.wait_status("connected")

    await h.page.locator("input.chat-attach-input").set_input_files(str(upload))
    link = guest.page.locator("#chat-log a.chat-attachment-link", has_text="agenda.txt")
    await link.wait_for(timeout=30_000)
    async with guest.page.expect_download() as downloading:
        await link.click()
    saved = tmp_path / "got.txt"
    await (await downloading.value).save_as(saved)
    assert saved.read_text() == "1. Budget\n2. Hiring\n"

    reply = tmp_path / "notes.txt"
    reply.write_text("From the guest")
    await guest.page.locator("input.chat-attach-input").set_input_files(str(reply))
    await h.page.locator("#chat-log a.chat-attachment-link", has_text="notes.txt").wait_for(timeout=30_000)
