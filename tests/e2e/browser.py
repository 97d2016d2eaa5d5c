"""Helpers for the browser tests: polling, test accounts, and a person at a browser page."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass
from typing import Any, TypeVar

from playwright.async_api import Browser, BrowserContext, Page

from tests.support.eventually import eventually
from tests.support.server import VecheServer

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "BrowserSession", "UserAccount", "Veche", "eventually", "layer_settles_at"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--auto-select-desktop-capture-source=Entire screen",
    "--autoplay-policy=no-user-gesture-required",
]

T = TypeVar("T")
# The pre-join screen's "Next time, join directly" choice, as the client keeps it (frontend/src/prejoin.ts).
_JOIN_DIRECTLY = "try { localStorage.setItem('veche.prejoin', 'skip'); } catch (e) {}"
_names = itertools.count(1)


@dataclass
class UserAccount:
    id: int
    login: str
    display_name: str
    password: str


class BrowserSession:
    """A person at a browser: one isolated context (cookies, devices) and one page."""

    def __init__(self, context: BrowserContext, page: Page, base_url: str) -> None:
        self.context = context
        self.page = page
        self.base_url = base_url
        self.console: list[str] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    async def login(self, account: UserAccount, next_path: str = "/") -> None:
        await self.page.goto(f"{self.base_url}/login?next={next_path}")
        await self.page.fill("input[name=login]", account.login)
        await self.page.fill("input[name=password]", account.password)
        async with self.page.expect_navigation():
            await self.page.click("button[type=submit]")

    async def open_conference(self, account: UserAccount, conference_id: int) -> None:
        """Log in through the real login page, landing on the conference page (its address from the API)."""
        await self.login(account, "/")
        answer = await self.page.request.get(f"{self.base_url}/api/v1/conferences/{conference_id}")
        assert answer.ok, await answer.text()
        url = str((await answer.json())["url"])
        await self.page.goto(url)
        assert self.page.url == url, self.page.url

    async def status(self) -> str:
        return (await self.page.text_content("#status")) or ""

    async def wait_status(self, expected: str, timeout: float = 45.0) -> None:
        await eventually(self.status, lambda s: s == expected, timeout=timeout, what=f"#status {expected!r}")

    async def record_statuses(self) -> None:
        """Start keeping every #status text the page shows (a state can be too brief to poll)."""
        await self.page.evaluate(
            """() => {
                const status = document.getElementById("status");
                window.__statusHistory = [status.textContent];
                new MutationObserver(() => window.__statusHistory.push(status.textContent))
                    .observe(status, { childList: true, characterData: true, subtree: true });
            }"""
        )

    async def status_history(self) -> list[str]:
        history: list[str] = await self.page.evaluate("() => window.__statusHistory || []")
        return history

    async def inbound(self) -> list[dict[str, Any]]:
        stats: list[dict[str, Any]] = await self.page.evaluate(
            "() => window.vecheClient ? window.vecheClient.inboundStats() : []"
        )
        return stats

    async def layer_widths(self) -> list[int]:
        """The frame widths my camera sends now, for layers 0, 1, 2 (low to high).

        VP8 simulcast: the widths of the q, h and f encodings; VP9 SVC: the encoded width and its halves. The
        encoder may scale down under load (``qualityLimitationReason``), so tests compare with these, not constants.
        """
        outbound: list[dict[str, Any]] = await self.page.evaluate("() => window.vecheClient.cameraOutbound()")
        by_rid = {entry["rid"]: int(entry["frameWidth"]) for entry in outbound}
        if set(by_rid) >= {"q", "h", "f"}:
            return [by_rid["q"], by_rid["h"], by_rid["f"]]
        top = max(by_rid.values(), default=0)
        return [top // 4, top // 2, top]

    async def participant_id(self) -> str | None:
        pid: str | None = await self.page.evaluate(
            "() => window.vecheClient ? window.vecheClient.participantId() : null"
        )
        return pid

    async def feed_figures(self, participant: str, source: str = "camera") -> dict[str, Any] | None:
        for entry in await self.inbound():
            if entry["participant"] == participant and entry["source"] == source:
                return entry
        return None

    async def wait_figure_growth(
        self, participant: str, figure: str, *, source: str = "camera", by: int = 10, timeout: float = 30.0
    ) -> int:
        """Wait until ``figure`` of ``participant``'s feed grew by ``by`` from its first observed value."""

        async def value() -> int | None:
            entry = await self.feed_figures(participant, source)
            return None if entry is None else int(entry[figure])

        start = await eventually(
            value, lambda v: v is not None, timeout=timeout, what=f"a {source} feed of {participant}"
        )
        assert start is not None
        end = await eventually(
            value,
            lambda v: v is not None and v >= start + by,
            timeout=timeout,
            what=f"{figure} of {participant}'s {source} to grow by {by} (from {start})",
        )
        assert end is not None
        return end

    def diagnostics(self) -> str:
        return "\n".join(self.console[-40:])


class Veche:
    """The server under test plus helpers to create users and conferences and open browsers."""

    def __init__(self, server: VecheServer, browser: Browser) -> None:
        self.server = server
        self.browser = browser
        self.sessions: list[BrowserSession] = []

    @property
    def url(self) -> str:
        return self.server.url

    def create_user(self, name: str | None = None) -> UserAccount:
        n = next(_names)
        login = f"user{n}-{secrets.token_hex(3)}"
        display_name = name or f"User {n}"
        password = secrets.token_urlsafe(12)
        response = self.server.api(
            "POST",
            "/api/v1/users",
            token=self.server.admin_token,
            json={
                "login": login,
                "display_name": display_name,
                "email": f"{login}@example.test",
                "password": password,
                "is_admin": False,
            },
        )
        assert response.status_code == 201, response.text
        return UserAccount(int(response.json()["id"]), login, display_name, password)

    def create_conference(self, **fields: Any) -> dict[str, Any]:
        body = {"name": f"E2E {secrets.token_hex(3)}", "type": "all_see_all", "max_participants": 10}
        body.update(fields)
        response = self.server.api("POST", "/api/v1/conferences", token=self.server.admin_token, json=body)
        assert response.status_code == 201, response.text
        conference: dict[str, Any] = response.json()
        return conference

    async def new_session(
        self,
        *,
        init_script: str | None = None,
        prejoin: bool = False,
        viewport: tuple[int, int] = (1280, 800),
        browser: Browser | None = None,
        permissions: list[str] | None = None,
    ) -> BrowserSession:
        """A new person at a browser window of ``viewport``; ``init_script`` runs in every page before the client.

        Without ``prejoin`` the person has chosen to join directly (the pre-join screen's "next time, join
        directly"), so a conference page joins as soon as it opens. ``browser`` is another Chromium than the
        session's (other fake devices); ``permissions`` are granted to the context (None: none asked).
        """
        width, height = viewport
        context = await (browser or self.browser).new_context(
            viewport={"width": width, "height": height}, permissions=permissions
        )
        if not prejoin:
            await context.add_init_script(_JOIN_DIRECTLY)
        if init_script is not None:
            await context.add_init_script(init_script)
        page = await context.new_page()
        session = BrowserSession(context, page, self.url)
        self.sessions.append(session)
        return session

    async def user_in_conference(
        self, account: UserAccount, conference_id: int, *, init_script: str | None = None
    ) -> BrowserSession:
        session = await self.new_session(init_script=init_script)
        await session.open_conference(account, conference_id)
        return session

    async def close(self) -> None:
        for session in self.sessions:
            await session.context.close()


async def layer_settles_at(viewer: BrowserSession, publisher: BrowserSession, publisher_id: str, layer: int) -> None:
    """Wait until ``viewer`` receives ``publisher``'s camera at the width of ``layer`` as it is being sent now."""

    async def widths() -> tuple[int, list[int]]:
        entry = await viewer.feed_figures(publisher_id)
        return (int(entry["frameWidth"]) if entry else 0), await publisher.layer_widths()

    def received_layer(seen: tuple[int, list[int]]) -> bool:
        received, sent = seen
        # Each layer is narrower than the next: the received width names the layer.
        return received > 0 and sent[layer] == received and len(set(sent)) == 3

    await eventually(widths, received_layer, timeout=30, what=f"layer {layer} (received width, widths sent 0-2)")
