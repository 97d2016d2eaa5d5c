"""The service worker in a real Chromium: served at /sw.js with scope "/", it shows a pushed notice (delivered
through the DevTools protocol, as a push service would) with its title, text and page."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .browser import Veche, eventually

pytestmark = pytest.mark.browser

_NOTIFICATIONS = """async () => {
  const registration = await navigator.serviceWorker.ready;
  return (await registration.getNotifications()).map((n) => [n.title, n.body, n.data && n.data.url]);
}"""


async def test_the_service_worker_shows_a_pushed_notice(veche: Veche) -> None:
    account = veche.create_user("Push Person")
    session = await veche.new_session(permissions=["notifications"])
    await session.login(account)
    page = session.page
    scope = await page.evaluate(
        "async () => { const r = await navigator.serviceWorker.register('/sw.js', {scope: '/'});"
        " await navigator.serviceWorker.ready; return r.scope; }"
    )
    assert scope == f"{veche.url}/"

    cdp = await session.context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    await cdp.send("ServiceWorker.enable")

    async def registered() -> list[str]:
        return [r["registrationId"] for r in registrations if r["scopeURL"] == scope and not r["isDeleted"]]

    [registration_id, *_] = await eventually(registered, bool, what="the service worker's registration")
    notice = {"id": 7, "kind": "invitation", "title": "Invitation: Weekly", "body": "Alice invites you.",
              "url": "/meetings/7"}  # fmt: skip
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": veche.url, "registrationId": registration_id, "data": json.dumps(notice)},
    )

    async def shown() -> list[list[str]]:
        result: list[list[str]] = await page.evaluate(_NOTIFICATIONS)
        return result

    assert await eventually(shown, bool, what="the notification") == [
        ["Invitation: Weekly", "Alice invites you.", "/meetings/7"]
    ]
