"""The meetings API: scheduling with invitations, who sees and changes a meeting (404 for everyone else),
changing and cancelling one occurrence, answers (page and mail link), the join window, the feed and the profile.

Mails and notices go to list-backed fakes here; tests/base/test_meeting_mail_smtp.py sends them through the real
queue to an SMTP server."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

from tests.web.conftest import Api, FakeEngineContainer, _create_admin
from veche.config.settings import load_settings
from veche.container import ALL_ROLES
from veche.domain.notifications import Notice, OutgoingMail
from veche.web.app import create_app

ADMIN_PASSWORD = "admin-password-1"


class ListMailer:
    def __init__(self) -> None:
        self.mails: list[OutgoingMail] = []

    async def enqueue(self, mails: Sequence[OutgoingMail]) -> None:
        self.mails.extend(mails)


class ListNotifier:
    def __init__(self) -> None:
        self.notices: list[Notice] = []

    async def notify(self, notices: Sequence[Notice]) -> None:
        self.notices.extend(notices)


class ListContainer(FakeEngineContainer):
    mailer = ListMailer()
    notifier = ListNotifier()

    def get_mailer(self) -> Any:
        return self.mailer

    def get_notifier(self) -> Any:
        return self.notifier


@pytest.fixture
def meetings_api(tmp_path: Path) -> Iterator[Api]:
    settings = load_settings(None, data_dir=tmp_path)
    container = ListContainer(settings, ALL_ROLES)
    container.mailer, container.notifier = ListMailer(), ListNotifier()
    with TestClient(create_app(container)) as client:
        client.portal.call(_create_admin, container)  # type: ignore[union-attr]
        token = client.post("/api/v1/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD})
        yield Api(client=client, container=container, admin_token=token.json()["token"])


def _mails(api: Api) -> list[OutgoingMail]:
    """What was mailed: to e-mail invitees directly, to users as the mail their notice carries (the notifier sends
    it when their preferences want e-mail, as they do by default)."""
    container = api.container
    assert isinstance(container, ListContainer)
    return container.mailer.mails + [n.mail for n in container.notifier.notices if n.mail is not None]


def _clear(api: Api) -> None:
    container = api.container
    assert isinstance(container, ListContainer)
    container.mailer.mails.clear()
    container.notifier.notices.clear()


def _notices(api: Api) -> list[Notice]:
    container = api.container
    assert isinstance(container, ListContainer)
    return container.notifier.notices


def _ics(mail: OutgoingMail) -> Calendar:
    assert mail.calendar is not None
    return Calendar.from_ical(mail.calendar.data)


def _weekly(api: Api, owner: str, invitee_id: int, **extra: Any) -> dict[str, Any]:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
    body = {
        "title": "Weekly sync",
        "starts_at": start.isoformat(),
        "duration_minutes": 30,
        "time_zone": "Europe/Berlin",
        "recurrence": "FREQ=WEEKLY;COUNT=4",
        "invite_users": [invitee_id],
        "invite_emails": ["partner@example.com"],
        "guests_allowed": True,
        **extra,
    }
    created = api.call("POST", "/meetings", owner, json=body)
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_scheduling_invites_users_and_addresses_by_mail_and_notice(meetings_api: Api) -> None:
    api = meetings_api
    _, olga = api.user("olga")
    ivan_id, _ = api.user("ivan")
    meeting = _weekly(api, olga, ivan_id)
    assert meeting["id"] > 0 and meeting["is_owner"] and meeting["sequence"] == 0
    assert {i["email"] for i in meeting["invitees"]} == {"ivan@example.org", "partner@example.com"}
    assert len(meeting["occurrences"]) == 1 and not meeting["open_for_joining"]
    mails = {m.to: m for m in _mails(api)}
    assert set(mails) == {"ivan@example.org", "partner@example.com"}
    assert mails["ivan@example.org"].subject == "Invitation: Weekly sync"
    [event] = _ics(mails["partner@example.com"]).walk("VEVENT")
    assert event["UID"] == meeting["uid"] and "/join/" in str(event["URL"])  # the guest link
    assert "/c/" in str(_ics(mails["ivan@example.org"]).walk("VEVENT")[0]["URL"])
    assert [(n.user_id, n.kind) for n in _notices(api)] == [(ivan_id, "invitation")]


def test_only_organiser_and_invitees_see_it_others_get_404(meetings_api: Api) -> None:
    api = meetings_api
    _, olga = api.user("olga")
    ivan_id, ivan = api.user("ivan")
    _, eve = api.user("eve")
    meeting = _weekly(api, olga, ivan_id)
    path = f"/meetings/{meeting['id']}"
    assert api.call("GET", path, ivan).json()["my_answer"] == "needs_action"
    for method, body in (("GET", None), ("PATCH", {"title": "Mine now"}), ("DELETE", None)):
        refused = api.call(method, path, eve, json=body)
        assert refused.status_code == 404, refused.text
        assert refused.json()["error"]["message"] == f"Meeting {meeting['id']} does not exist or you may not see it."
    assert api.call("GET", "/meetings/999999", eve).json()["error"]["message"].startswith("Meeting 999999 does not")
    assert api.call("PATCH", path, ivan, json={"title": "Ivan's"}).status_code == 403
    assert api.call("GET", "/meetings", eve).json() == []
    assert [m["id"] for m in api.call("GET", "/meetings", ivan).json()] == [meeting["id"]]
    conference = api.call("GET", f"/conferences/{meeting['conference_id']}", eve)
    assert conference.status_code == 404  # its conference is invite-only too


def test_an_update_raises_the_sequence_and_a_cancelled_occurrence_goes_alone(meetings_api: Api) -> None:
    api = meetings_api
    _, olga = api.user("olga")
    ivan_id, ivan = api.user("ivan")
    meeting = _weekly(api, olga, ivan_id)
    _clear(api)
    changed = api.call("PATCH", f"/meetings/{meeting['id']}", olga, json={"title": "Weekly planning"}).json()
    assert changed["sequence"] == 1
    [update] = [m for m in _mails(api) if m.to == "ivan@example.org"]
    assert update.subject == "Updated invitation: Weekly planning"
    [event] = _ics(update).walk("VEVENT")
    assert (event["UID"], event["SEQUENCE"]) == (meeting["uid"], 1)

    start = datetime.fromisoformat(meeting["starts_at"])
    second = _range(api, ivan, start, start + timedelta(days=30))[1]
    _clear(api)
    cancelled = api.call("DELETE", f"/meetings/{meeting['id']}/occurrences/{quote(second.isoformat())}", olga)
    assert cancelled.status_code == 200, cancelled.text
    [cancel] = [m for m in _mails(api) if m.to == "ivan@example.org"]
    calendar = _ics(cancel)
    assert calendar["METHOD"] == "CANCEL"
    [event] = calendar.walk("VEVENT")
    assert event.decoded("RECURRENCE-ID") == second and event["SEQUENCE"] == 2
    assert second not in _range(api, ivan, start, start + timedelta(days=30))
    assert len(_range(api, ivan, start, start + timedelta(days=30))) == 3  # of COUNT=4

    moved_to = start + timedelta(days=14, hours=3)
    third = _range(api, ivan, start, start + timedelta(days=30))[1]
    moved = api.call(
        "PATCH",
        f"/meetings/{meeting['id']}/occurrences/{quote(third.isoformat())}",
        olga,
        json={"starts_at": moved_to.isoformat()},
    )
    assert moved.status_code == 200, moved.text
    assert moved_to in _range(api, ivan, start, start + timedelta(days=30))
    wrong = api.call(
        "DELETE", f"/meetings/{meeting['id']}/occurrences/{quote((start + timedelta(hours=1)).isoformat())}", olga
    )
    assert wrong.status_code == 404


def _range(api: Api, token: str, start: datetime, end: datetime) -> list[datetime]:
    found = api.call("GET", "/meetings", token, params={"from": start.isoformat(), "to": end.isoformat()})
    assert found.status_code == 200, found.text
    return [datetime.fromisoformat(o["starts_at"]) for m in found.json() for o in m["occurrences"]]


def test_cancelling_the_meeting_sends_cancel_and_removes_it(meetings_api: Api) -> None:
    api = meetings_api
    _, olga = api.user("olga")
    ivan_id, ivan = api.user("ivan")
    meeting = _weekly(api, olga, ivan_id)
    _clear(api)
    assert api.call("DELETE", f"/meetings/{meeting['id']}", olga).status_code == 204
    assert {_ics(m)["METHOD"] for m in _mails(api)} == {"CANCEL"}
    assert api.call("GET", f"/meetings/{meeting['id']}", ivan).status_code == 404


def test_answers_from_the_page_and_from_the_mail_link(meetings_api: Api) -> None:
    api = meetings_api
    _, olga = api.user("olga")
    ivan_id, ivan = api.user("ivan")
    meeting = _weekly(api, olga, ivan_id)
    answered = api.call("POST", f"/meetings/{meeting['id']}/answer", ivan, json={"answer": "tentative"})
    assert answered.json()["my_answer"] == "tentative"
    partner = next(m for m in _mails(api) if m.to == "partner@example.com")
    link = next(line.split(": ", 1)[1] for line in partner.text.splitlines() if line.strip().startswith("Decline:"))
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = api.client.get("/" + path)
    assert page.status_code == 200 and "Weekly sync" in page.text
    token = path.split("/")[2].split("?")[0]
    recorded = api.client.post(f"/meetings/answer/{token}", data={"answer": "declined"})
    assert recorded.status_code == 200 and "is recorded" in recorded.text
    invitees = {i["email"]: i["answer"] for i in api.call("GET", f"/meetings/{meeting['id']}", olga).json()["invitees"]}
    assert invitees == {"ivan@example.org": "tentative", "partner@example.com": "declined"}
    assert api.client.get(f"/meetings/answer/{token[:-2]}xx").status_code == 404


def test_joining_before_it_opens_names_when_and_the_owner_starts_it_early(meetings_api: Api) -> None:
    api = meetings_api
    _, olga = api.user("olga")
    ivan_id, ivan = api.user("ivan")
    meeting = _weekly(api, olga, ivan_id)
    early = api.call("POST", f"/conferences/{meeting['conference_id']}/join", ivan)
    assert early.status_code == 403
    assert early.json()["error"]["code"] == "meeting_not_open"
    assert "opens for joining at" in early.json()["error"]["message"]
    assert "(Europe/Berlin), 10 minutes before it starts" in early.json()["error"]["message"]
    assert api.call("POST", f"/conferences/{meeting['conference_id']}/join", olga).status_code == 200
    assert api.call("POST", f"/conferences/{meeting['conference_id']}/join", ivan).status_code == 200
    assert api.call("GET", f"/meetings/{meeting['id']}", ivan).json()["open_for_joining"]


def test_bad_input_gets_a_clear_error(meetings_api: Api) -> None:
    api = meetings_api
    _, olga = api.user("olga")
    base = {
        "title": "X",
        "starts_at": "2030-01-01T10:00:00+01:00",
        "duration_minutes": 30,
        "time_zone": "Europe/Berlin",
    }
    cases = [
        ({**base, "time_zone": "Mars/Olympus"}, "Unknown time zone"),
        ({**base, "starts_at": "2030-01-01T10:00:00"}, "needs a UTC offset"),
        ({**base, "recurrence": "FREQ=SECONDLY"}, "DAILY, WEEKLY or MONTHLY"),
        ({**base, "invite_emails": ["a@example.com"]}, "allow guests"),
        ({**base, "invite_emails": ["not-an-address"], "guests_allowed": True}, "is not an e-mail address"),
        ({**base, "invite_users": [4242]}, "Unknown user id"),
        ({**base, "pin": "12"}, "PIN must be 4 to 12 digits"),
        ({**base, "starts_at": "0001-01-01T00:00:00+14:00"}, "between the years"),
        ({**base, "exceptions": ["2030-01-02T10:00:00+01:00"]}, "not an occurrence"),
    ]
    for body, message in cases:
        refused = api.call("POST", "/meetings", olga, json=body)
        assert refused.status_code == 400, (body, refused.text)
        assert message in refused.json()["error"]["message"]


def test_a_private_feed_and_the_profile(meetings_api: Api) -> None:
    api = meetings_api
    _, olga = api.user("olga")
    ivan_id, ivan = api.user("ivan")
    meeting = _weekly(api, olga, ivan_id)
    assert api.call("GET", "/me/calendar-feed", ivan).json() == {"url": None, "exists": False}
    url = api.call("POST", "/me/calendar-feed", ivan).json()["url"]
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    feed = api.client.get(path)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert [e["UID"] for e in Calendar.from_ical(feed.content).walk("VEVENT")] == [meeting["uid"]]
    api.call("POST", "/me/calendar-feed", ivan)  # reset: the old address stops working
    assert api.client.get(path).status_code == 404

    profile = {"display_name": "Ivan Petrov", "time_zone": "Asia/Tokyo", "language": "ru"}
    assert api.call("PUT", "/me/profile", ivan, json=profile).json() == profile
    assert api.call("GET", "/me/profile", ivan).json() == profile
    bad = api.call("PUT", "/me/profile", ivan, json={**profile, "time_zone": "Nowhere"})
    assert bad.status_code == 400 and "Unknown time zone" in bad.json()["error"]["message"]


def test_the_pages_render_for_the_signed_in_and_refuse_others(meetings_api: Api) -> None:
    from tests.web.test_pages import login

    api = meetings_api
    _, olga = api.user("olga")
    ivan_id, _ = api.user("ivan")
    api.user("eve")
    meeting = _weekly(api, olga, ivan_id)
    assert api.client.get("/meetings", follow_redirects=False).status_code == 303  # to the login page
    login(api, "ivan", "ivan-password")
    listing = api.client.get("/meetings")
    assert listing.status_code == 200 and 'src="/static/build/meetings.js"' in listing.text
    assert 'id="link-meetings"' in api.client.get("/").text
    page = api.client.get(f"/meetings/{meeting['id']}")
    assert page.status_code == 200 and f'data-meeting-id="{meeting["id"]}"' in page.text
    assert "My account" in api.client.get("/account").text
    api.client.cookies.clear()
    login(api, "eve", "eve-password")
    refused = api.client.get(f"/meetings/{meeting['id']}")
    assert refused.status_code == 404 and "does not exist or you may not see it" in refused.text
    assert "Weekly sync" not in refused.text


def test_a_directory_group_is_invited_and_a_removed_invitee_gets_a_cancellation(meetings_api: Api) -> None:
    from veche.storage.directory_tables import DirectoryGroupRow, DirectoryUserGroupRow

    api = meetings_api
    _, olga = api.user("olga")
    ivan_id, ivan = api.user("ivan")
    anna_id, anna = api.user("anna")

    async def make_group() -> int:
        async with api.container.get_database().sessions.begin() as session:
            group = DirectoryGroupRow(source="corp", external_id="g1", dn="cn=design,ou=groups", name="Design")
            session.add(group)
            await session.flush()
            session.add_all(DirectoryUserGroupRow(user_id=u, group_id=group.id) for u in (ivan_id, anna_id))
            return int(group.id)

    group_id = api.client.portal.call(make_group)  # type: ignore[union-attr]
    assert api.call("GET", "/meetings/groups", olga, params={"q": "desi"}).json() == [
        {"id": group_id, "name": "Design"}
    ]
    start = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    body = {"title": "Design crit", "starts_at": start, "duration_minutes": 60, "time_zone": "UTC"}
    meeting = api.call("POST", "/meetings", olga, json={**body, "invite_groups": [group_id]}).json()
    assert {(i["user_id"], i["group"]) for i in meeting["invitees"]} == {(ivan_id, "Design"), (anna_id, "Design")}
    assert api.call("GET", f"/meetings/{meeting['id']}", anna).status_code == 200

    _clear(api)
    changed = api.call(
        "PATCH", f"/meetings/{meeting['id']}", olga, json={"invite_groups": [], "invite_users": [ivan_id]}
    )
    assert [i["user_id"] for i in changed.json()["invitees"]] == [ivan_id]
    by_method = {m.to: _ics(m)["METHOD"] for m in _mails(api)}
    assert by_method == {"ivan@example.org": "REQUEST", "anna@example.org": "CANCEL"}
    assert api.call("GET", f"/meetings/{meeting['id']}", anna).status_code == 404
    assert api.call("GET", f"/meetings/{meeting['id']}", ivan).status_code == 200


def test_a_picture_for_the_profile(meetings_api: Api) -> None:
    api = meetings_api
    ivan_id, ivan = api.user("ivan")
    _, anna = api.user("anna")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    assert api.call("GET", f"/avatars/{ivan_id}", anna).status_code == 404
    put = api.call("PUT", "/me/avatar", ivan, files={"file": ("me.png", png, "image/png")})
    assert put.status_code == 200 and put.json()["content_type"] == "image/png"
    seen = api.call("GET", f"/avatars/{ivan_id}", anna)
    assert seen.status_code == 200 and seen.content == png and seen.headers["content-type"] == "image/png"
    fake = api.call("PUT", "/me/avatar", ivan, files={"file": ("me.png", b"<svg onload=alert(1)>", "image/png")})
    assert fake.status_code == 400 and "PNG, JPEG or WebP" in fake.json()["error"]["message"]
    huge = api.call("PUT", "/me/avatar", ivan, files={"file": ("big.png", png + b"\x00" * 300_000, "image/png")})
    assert huge.status_code == 400 and "larger than 256 KB" in huge.json()["error"]["message"]
    assert api.call("DELETE", "/me/avatar", ivan).status_code == 204
    assert api.call("GET", f"/avatars/{ivan_id}", anna).status_code == 404
    assert api.call("GET", f"/avatars/{ivan_id}").status_code == 401


def test_guests_of_a_meeting_with_a_pin_must_give_it_and_guessing_is_throttled(meetings_api: Api) -> None:
    api = meetings_api
    _, olga = api.user("olga")
    ivan_id, ivan = api.user("ivan")
    meeting = _weekly(api, olga, ivan_id, pin="480213")
    conference_id = meeting["conference_id"]
    code = api.call("GET", f"/conferences/{conference_id}", olga).json()["invite_code"]
    assert api.call("POST", f"/meetings/{meeting['id']}/start", olga).status_code == 200

    def guest(pin: str | None, name: str = "Partner") -> Any:
        body = {"display_name": name} | ({"pin": pin} if pin is not None else {})
        return api.call("POST", f"/invites/{code}/join", json=body)

    page = api.client.get(f"/join/{code}")
    assert 'data-pin-required="1"' in page.text
    missing = guest(None)
    assert (missing.status_code, missing.json()["error"]["code"]) == (403, "pin_required")
    assert "enter the PIN from the invitation" in missing.json()["error"]["message"]
    assert guest("480213").status_code == 200
    assert api.call("POST", f"/conferences/{conference_id}/join", ivan).status_code == 200, "users need no PIN"
    wrong = [guest(str(100000 + n)).status_code for n in range(6)]
    assert wrong[:5] == [403] * 5 and wrong[5] == 429, wrong
    assert guest("480213").status_code == 429, "an address that guessed waits, even with the right PIN"
