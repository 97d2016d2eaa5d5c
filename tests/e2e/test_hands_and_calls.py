"""Raised hands and speakers in a moderated conference, and the caller's side of a call, in a real browser against
the real server and its Janus: what the people involved notice.

This module runs its own ``veche up`` whose calls ring for RING_S seconds (``directory.ring_s``), so "did not
answer" comes without waiting the default 30 s.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tests.support.server import VecheServer

from .browser import BrowserSession, UserAccount, Veche, eventually
from .test_address_book import AddressBookPage

pytestmark = [pytest.mark.browser, pytest.mark.janus]

RING_S = 12
LISTENER_REASON = "Only speakers can talk in this meeting — raise your hand to ask."


@pytest.fixture(scope="module")
def veche_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VecheServer]:
    """Overrides the session's server for this module: calls ring for RING_S seconds."""
    root = tmp_path_factory.mktemp("veche-hands-calls")
    config = root / "veche.toml"
    config.write_text(f"[directory]\nring_s = {RING_S}\n")
    server = VecheServer.start(root=root, extra_args=("--config", str(config)))
    try:
        yield server
    finally:
        server.stop()


# --- raise hand, allow to speak ------------------------------------------------------------------------------


async def test_a_listener_raises_his_hand_is_allowed_to_speak_and_is_seen(veche: Veche) -> None:
    chair, listener = veche.create_user("Chair"), veche.create_user("Lena Listener")
    conf = veche.create_conference(type="moderated", moderators=[chair.id])
    m = await veche.user_in_conference(chair, conf["id"])
    li = await veche.user_in_conference(listener, conf["id"])
    await m.wait_status("connected")
    await li.wait_status("connected")
    li_id = await li.participant_id()
    assert li_id

    # The listener is told why his microphone and camera are off; nobody sees him as "mic on".
    reason = li.page.locator("#listener-reason")
    await reason.wait_for(state="visible", timeout=10_000)
    assert (await reason.text_content() or "").strip() == LISTENER_REASON
    assert await li.page.is_disabled("#btn-mic") and await li.page.is_disabled("#btn-cam")
    row = m.page.locator(f'#participants li[data-participant="{li_id}"]')
    await row.wait_for()
    assert "mic on" not in (await row.text_content() or "")

    # He raises his hand: the moderator sees a hand on him in the list and a notice.
    await li.page.get_by_role("button", name="Raise hand").click()
    await row.locator(".participant-hand").wait_for(timeout=10_000)
    await m.page.locator("#veche-notice", has_text="Lena Listener raised a hand.").wait_for(timeout=10_000)
    assert await li.page.get_attribute("#btn-hand", "aria-pressed") == "true"

    # "Allow to speak": his page enables mic and camera, his hand goes down, the moderator receives his video.
    await row.get_by_role("button", name="Allow Lena Listener to speak").click()
    await eventually(lambda: li.page.is_enabled("#btn-mic"), lambda on: on, what="the listener's mic enabled")
    await reason.wait_for(state="hidden", timeout=10_000)
    await row.locator(".participant-hand").wait_for(state="detached", timeout=10_000)
    assert await li.page.get_attribute("#btn-hand", "aria-pressed") == "false"
    await m.wait_figure_growth(li_id, "framesDecoded", by=20, timeout=45)
    await m.wait_figure_growth(li_id, "audioPacketsReceived", by=20, timeout=45)

    # "Make listener": he stops sending and is told why again.
    await row.get_by_role("button", name="Make Lena Listener a listener").click()
    await reason.wait_for(state="visible", timeout=10_000)
    await m.page.locator(f'.tile[data-participant="{li_id}"]').wait_for(state="detached", timeout=10_000)
    assert await li.page.is_disabled("#btn-mic")


async def test_anyone_may_raise_a_hand_and_everyone_sees_it(veche: Veche) -> None:
    alice, bob = veche.create_user("Alice"), veche.create_user("Bob")
    conf = veche.create_conference()
    a = await veche.user_in_conference(alice, conf["id"])
    b = await veche.user_in_conference(bob, conf["id"])
    await a.wait_status("connected")
    await b.wait_status("connected")
    a_id = await a.participant_id()
    assert await a.page.locator("#listener-reason").is_hidden()  # a speaker needs no reason

    await a.page.get_by_role("button", name="Raise hand").click()
    hand = b.page.locator(f'#participants li[data-participant="{a_id}"] .participant-hand')
    await hand.wait_for(timeout=10_000)
    await a.page.get_by_role("button", name="Lower hand").click()
    await hand.wait_for(state="detached", timeout=10_000)


# --- the caller's side of a call ----------------------------------------------------------------------------


async def _caller_and_callee(veche: Veche) -> tuple[AddressBookPage, BrowserSession, UserAccount, UserAccount]:
    """The caller on the address book with the callee found; the callee on his home page."""
    tag = secrets.token_hex(2)
    caller, callee = veche.create_user(f"Caller {tag}"), veche.create_user(f"Bob {tag}")
    home = await veche.new_session()
    await home.login(callee, "/")
    book = await AddressBookPage.open(veche, caller)
    await book.search(callee.login)
    await eventually(book.names, lambda n: n == [callee.display_name], what="the callee in the results")
    return book, home, caller, callee


async def _call(book: AddressBookPage, home: BrowserSession, caller: UserAccount, callee: UserAccount) -> None:
    """The caller presses Call: his page says it rings, the callee's page rings."""
    await book.page.get_by_role("button", name=f"Call {callee.display_name}").click()
    await book.page.locator("#outgoing-call", has_text=f"Ringing {callee.display_name}…").wait_for(timeout=10_000)
    assert "/directory" in book.page.url  # he stays until someone answers
    ring = home.page.locator("#incoming-calls .incoming-call", has_text=f"{caller.display_name} is calling you")
    await ring.wait_for(timeout=10_000)


async def test_the_caller_sees_ringing_then_declined(veche: Veche) -> None:
    book, home, caller, callee = await _caller_and_callee(veche)
    await _call(book, home, caller, callee)

    await home.page.locator("#incoming-calls .incoming-call").get_by_role("button", name="Decline").click()

    await book.page.locator("#outgoing-call", has_text=f"{callee.display_name} declined").wait_for(timeout=10_000)
    assert await book.page.locator("#outgoing-call").get_by_role("button", name="Cancel").count() == 0
    await book.page.locator("#outgoing-call").get_by_role("button", name="Close").click()
    await book.page.locator("#outgoing-call .outgoing-call").wait_for(state="detached")


async def test_the_caller_sees_that_nobody_answered(veche: Veche) -> None:
    book, home, caller, callee = await _caller_and_callee(veche)
    await _call(book, home, caller, callee)

    message = book.page.locator("#outgoing-call", has_text=f"{callee.display_name} did not answer")
    await message.wait_for(timeout=(RING_S + 20) * 1000)
    await home.page.locator("#incoming-calls .incoming-call").wait_for(state="detached", timeout=10_000)


async def test_cancel_stops_the_ring_on_the_callees_page(veche: Veche) -> None:
    book, home, caller, callee = await _caller_and_callee(veche)
    await _call(book, home, caller, callee)

    await book.page.get_by_role("button", name=f"Cancel the call to {callee.display_name}").click()

    await home.page.locator("#incoming-calls .incoming-call").wait_for(state="detached", timeout=10_000)
    await book.page.locator("#outgoing-call .outgoing-call").wait_for(state="detached", timeout=10_000)
    token = veche.server.login(callee.login, callee.password)
    assert veche.server.api("GET", "/api/v1/directory/calls", token=token).json() == {"calls": []}


async def test_an_answered_call_brings_the_caller_into_the_conference(veche: Veche) -> None:
    book, home, caller, callee = await _caller_and_callee(veche)
    await _call(book, home, caller, callee)

    ring = home.page.locator("#incoming-calls .incoming-call")
    async with home.page.expect_navigation():
        await ring.get_by_role("button", name="Join").click()
    await book.page.wait_for_url("**/c/**", timeout=15_000)  # the caller's page follows him in
    assert book.page.url.removeprefix(veche.url) == home.page.url.removeprefix(veche.url)
    await book.session.wait_status("connected")
    await home.wait_status("connected")
    callee_id = await home.participant_id()
    await book.page.locator(f'#participants li[data-participant="{callee_id}"]').wait_for(timeout=15_000)
