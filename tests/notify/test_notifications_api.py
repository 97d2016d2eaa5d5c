"""Notifications through the whole app (every role in one process, SQLite): Web Push to a local push service that
decrypts aes128gcm and checks the VAPID signature, mail to an aiosmtpd sink, mobile push to the recording
provider, in-app notices, preferences; and who may see and change what."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.notify.push_endpoint import PushEndpoint
from tests.notify.smtp_sink import SmtpSink
from tests.support.eventually import eventually
from tests.web.conftest import FakeEngineContainer
from veche.base.notify.mobile_push import RecordingProvider
from veche.config.settings import load_settings
from veche.container import ALL_ROLES
from veche.domain.notifications import Notice
from veche.web.app import create_app

ADMIN_PASSWORD = "admin-password-1"


@dataclass
class App:
    client: httpx.AsyncClient
    container: FakeEngineContainer
    admin_token: str
    sink: SmtpSink
    push: PushEndpoint

    async def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.client.request(method, f"/api/v1{path}", headers=headers, **kw)

    async def user(self, login: str) -> tuple[int, str]:
        created = await self.call(
            "POST",
            "/users",
            self.admin_token,
            json={"login": login, "display_name": login.title(), "email": f"{login}@example.org",
                  "password": f"{login}-password-1", "is_admin": False},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        token = await self.call("POST", "/auth/token", json={"login": login, "password": f"{login}-password-1"})
        return int(created.json()["id"]), str(token.json()["token"])

    async def notify(self, *notices: Notice) -> None:
        await self.container.get_notifier().notify(notices)

    @property
    def recorder(self) -> RecordingProvider:
        provider = self.container.get_push_providers()["test"]
        assert isinstance(provider, RecordingProvider)
        return provider


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    sink = SmtpSink().start()
    push = await PushEndpoint().start()
    settings = load_settings(
        None,
        data_dir=tmp_path,
        http={"public_url": "https://veche.example.org"},
        smtp={"host": "127.0.0.1", "port": sink.port, "security": "none", "from": "Veche <veche@example.org>",
              "poll_s": 0.1},
        push={"allow_http_endpoints": True, "mobile_provider": "record", "poll_s": 0.1,
              "vapid_subject": "mailto:ops@example.org", "retry": {"initial_s": 0.1, "max_s": 0.2}},
    )  # fmt: skip
    container = FakeEngineContainer(settings, ALL_ROLES)
    asgi = create_app(container)
    await container.start()
    try:
        await container.get_auth().create_user(
            login="admin", display_name="Administrator", email="", password=ADMIN_PASSWORD, is_admin=True
        )
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://test") as client:
            token = await client.post("/api/v1/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD})
            yield App(client, container, token.json()["token"], sink, push)
    finally:
        await container.stop()
        await push.stop()
        sink.stop()


def _notice(user_id: int, key: str = "meeting:1:invite", kind: Any = "invitation") -> Notice:
    return Notice(
        key=key, user_id=user_id, kind=kind, title="Invitation: Weekly", body="Alice invites you.", url="/meetings/1"
    )


async def test_a_notice_reaches_the_browser_by_web_push_the_inbox_and_the_mailbox(app: App) -> None:
    bob, token = await app.user("bob")
    key = await app.call("GET", "/push/key", token)
    assert key.status_code == 200
    public_key = key.json()["public_key"]
    vapid_file = app.container.settings.data_dir / "vapid.pem"
    assert stat.S_IMODE(vapid_file.stat().st_mode) == 0o600  # generated on first start, the owner's only

    subscribed = await app.call("POST", "/push/subscriptions", token, json=app.push.subscription("bob-firefox"))
    assert subscribed.status_code == 201, subscribed.text
    again = await app.call("POST", "/push/subscriptions", token, json=app.push.subscription("bob-firefox"))
    assert again.json()["id"] == subscribed.json()["id"]  # the browser subscribing again: the same subscription

    await app.notify(_notice(bob))
    await app.notify(_notice(bob))  # the same key again: delivered once

    async def pushed() -> int:
        return len(app.push.received)

    await eventually(pushed, lambda n: n >= 1, what="the Web Push request")
    push = app.push.received[0]
    assert app.push.refused == []
    assert push.payload["title"] == "Invitation: Weekly" and push.payload["url"] == "/meetings/1"
    assert push.payload["kind"] == "invitation"
    assert push.vapid_key == public_key  # signed with the key browsers were given
    assert push.claims["sub"] == "mailto:ops@example.org" and push.claims["aud"] == app.push.origin
    assert push.ttl > 0

    async def mails() -> int:
        return len(app.sink.handler.accepted)

    await eventually(mails, lambda n: n >= 1, what="the notice's mail")
    mail = app.sink.handler.accepted[0]
    assert mail["To"] == "bob@example.org" and mail["Subject"] == "Invitation: Weekly"
    assert "https://veche.example.org/meetings/1" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    inbox = await app.call("GET", "/notifications", token)
    assert inbox.status_code == 200
    body = inbox.json()
    assert body["unread"] == 1 and [n["title"] for n in body["items"]] == ["Invitation: Weekly"]
    read = await app.call("POST", "/notifications/read", token, json={"up_to": body["items"][0]["id"]})
    assert read.json() == {"unread": 0}
    assert len(app.push.received) == 1 and len(app.sink.handler.accepted) == 1


async def test_inbox_pages_and_read_up_to_an_id(app: App) -> None:
    bob, token = await app.user("bob")
    await app.notify(*(_notice(bob, key=f"n{i}", kind="message") for i in range(5)))
    first = (await app.call("GET", "/notifications?limit=2", token)).json()
    assert first["unread"] == 5 and len(first["items"]) == 2 and first["next_before"] is not None
    second = (await app.call("GET", f"/notifications?limit=2&before={first['next_before']}", token)).json()
    third = (await app.call("GET", f"/notifications?limit=2&before={second['next_before']}", token)).json()
    ids = [n["id"] for page in (first, second, third) for n in page["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5 and third["next_before"] is None
    read = await app.call("POST", "/notifications/read", token, json={"up_to": second["items"][0]["id"]})
    assert read.json() == {"unread": 2}  # the two newest stay unread
    again = (await app.call("GET", "/notifications", token)).json()
    assert [n["read"] for n in again["items"]] == [False, False, True, True, True]


async def test_preferences_cover_every_kind_and_are_honoured(app: App) -> None:
    bob, token = await app.user("bob")
    defaults = (await app.call("GET", "/me/notification-preferences", token)).json()
    assert set(defaults["kinds"]) == {
        "invitation", "reminder", "missed_call", "message", "meeting_changed", "meeting_cancelled"
    }  # fmt: skip
    # Everything by default, except a mail for every chat message (pushed, not mailed).
    assert defaults["kinds"].pop("message") == {"email": False, "push": True}
    assert all(p == {"email": True, "push": True} for p in defaults["kinds"].values())
    changed = await app.call(
        "PUT", "/me/notification-preferences", token, json={"kinds": {"message": {"email": False, "push": False}}}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["kinds"]["message"] == {"email": False, "push": False}
    assert changed.json()["kinds"]["invitation"] == {"email": True, "push": True}
    bad = await app.call("PUT", "/me/notification-preferences", token, json={"kinds": {"gossip": {"email": True}}})
    assert bad.status_code in (400, 422) and "gossip" in bad.json()["error"]["message"]

    await app.call("POST", "/push/subscriptions", token, json=app.push.subscription("bob"))
    await app.notify(_notice(bob, key="chat:1", kind="message"))  # he wants none of these: only in the app
    await app.notify(_notice(bob, key="invite", kind="invitation"))
    await eventually(lambda: _len(app.push.received), lambda n: n >= 1, what="the invitation's push")
    await eventually(lambda: _len(app.sink.handler.accepted), lambda n: n >= 1, what="the invitation's mail")
    assert [p.payload["kind"] for p in app.push.received] == ["invitation"]
    counts = await app.container.get_smtp_sender().status()
    assert counts["queued"] + counts["sent"] == 1  # no mail for the message notice was ever queued
    inbox = (await app.call("GET", "/notifications", token)).json()
    assert {n["kind"] for n in inbox["items"]} == {"message", "invitation"}


async def _len(items: list[Any]) -> int:
    return len(items)


async def test_a_subscription_the_push_service_says_is_gone_is_dropped(app: App) -> None:
    bob, token = await app.user("bob")
    await app.call("POST", "/push/subscriptions", token, json=app.push.subscription("old-phone"))
    await app.call("POST", "/push/subscriptions", token, json=app.push.subscription("laptop"))
    app.push.answers["old-phone"] = [410]
    app.push.answers["laptop"] = [503]  # busy once: retried
    await app.notify(_notice(bob))
    targets = app.container.get_push_targets()
    await eventually(lambda: targets.subscription_count(bob), lambda n: n == 1, what="the gone subscription dropped")
    await eventually(lambda: _len(app.push.received), lambda n: n == 1, what="the laptop's push after a retry")
    assert app.push.received[0].path == "/push/laptop"
    counts = await eventually(targets.counts, lambda c: c["sent"] == 1)
    assert counts["queued"] == 0


async def test_mobile_devices_get_pushes_through_their_provider(app: App) -> None:
    bob, token = await app.user("bob")
    phone = await app.call("POST", "/push/devices", token, json={"provider": "test", "token": "device-token-1"})
    assert phone.status_code == 201, phone.text
    await app.call("POST", "/push/devices", token, json={"provider": "test", "token": "gone-tablet"})
    unknown = await app.call("POST", "/push/devices", token, json={"provider": "fcm", "token": "x"})
    assert unknown.status_code == 400 and "fcm" in unknown.json()["error"]["message"]
    await app.notify(_notice(bob, key="missed:1", kind="missed_call"))
    await eventually(lambda: _len(app.recorder.sent), lambda n: n == 1, what="the push to the phone")
    token_sent, message = app.recorder.sent[0]
    assert token_sent == "device-token-1" and message.kind == "missed_call" and message.url == "/meetings/1"
    counts = await eventually(app.container.get_push_targets().counts, lambda c: c["queued"] == 0)
    assert counts["sent"] == 1  # the tablet's token was gone: the device is forgotten
    removed = await app.call("DELETE", f"/push/devices/{phone.json()['id']}", token)
    assert removed.status_code == 204


async def test_nobody_sees_or_removes_what_is_another_users(app: App) -> None:
    bob, bob_token = await app.user("bob")
    _, eve_token = await app.user("eve")
    sub = await app.call("POST", "/push/subscriptions", bob_token, json=app.push.subscription("bob"))
    device = await app.call("POST", "/push/devices", bob_token, json={"provider": "test", "token": "bob-phone"})
    await app.notify(_notice(bob))
    for path in (f"/push/subscriptions/{sub.json()['id']}", f"/push/devices/{device.json()['id']}"):
        refused = await app.call("DELETE", path, eve_token)
        missing = await app.call("DELETE", path.rsplit("/", 1)[0] + "/999999", eve_token)
        assert refused.status_code == missing.status_code == 404  # his looks the same as none at all
        assert refused.json() == missing.json()
    eve_inbox = (await app.call("GET", "/notifications", eve_token)).json()
    assert eve_inbox == {"items": [], "unread": 0, "next_before": None}
    await app.call("POST", "/notifications/read", eve_token, json={"up_to": 2**40})
    assert (await app.call("GET", "/notifications", bob_token)).json()["unread"] == 1  # not his to mark
    for method, path in (("GET", "/notifications"), ("GET", "/push/key"), ("GET", "/me/notification-preferences")):
        assert (await app.call(method, path)).status_code == 401
    assert (await app.call("DELETE", f"/push/subscriptions/{sub.json()['id']}", bob_token)).status_code == 204


async def test_bad_subscriptions_are_refused_with_a_clear_error(app: App) -> None:
    _, token = await app.user("bob")
    good = app.push.subscription("bob")
    cases = [
        {**good, "endpoint": "ftp://push.example.org/x"},
        {**good, "keys": {"p256dh": "not-a-key", "auth": good["keys"]["auth"]}},
        {**good, "keys": {"p256dh": good["keys"]["p256dh"], "auth": "c2hvcnQ"}},
        {"endpoint": good["endpoint"]},
    ]
    for body in cases:
        refused = await app.call("POST", "/push/subscriptions", token, json=body)
        assert refused.status_code in (400, 422), (body, refused.text)
        assert set(refused.json()["error"]) == {"code", "message"}
    assert (await app.client.get("/sw.js")).headers["Service-Worker-Allowed"] == "/"


async def test_health_details_show_the_mail_queue(app: App) -> None:
    bob, _ = await app.user("bob")
    app.sink.handler.refuse_recipients["bob@example.org"] = "550 5.1.1 No such user"
    await app.notify(_notice(bob))

    async def mail() -> dict[str, Any]:
        health = await app.call("GET", "/health", app.admin_token)
        details: dict[str, Any] = health.json()["mail"]
        return details

    details = await eventually(mail, lambda m: m["failed"] == 1, what="the refused mail in the health details")
    assert details["configured"] is True and details["relay"] == f"127.0.0.1:{app.sink.port}"
    assert "password" not in str(details).lower()
    anonymous = (await app.call("GET", "/health")).json()
    assert "mail" not in anonymous  # details only for administrators and the join token
