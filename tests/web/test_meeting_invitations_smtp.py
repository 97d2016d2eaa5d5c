"""Invitations through the real mail queue to a real SMTP server (aiosmtpd): the whole app schedules a weekly
meeting, changes it, moves one occurrence and cancels another; the sink's mails are parsed with ``icalendar``
and checked as a calendar program reads them (issue 10, "Tests")."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

from tests.notify.smtp_sink import SmtpSink
from tests.support.eventually import eventually
from tests.web.conftest import ADMIN_PASSWORD, Api, FakeEngineContainer, _create_admin
from veche.config.settings import load_settings
from veche.container import ALL_ROLES
from veche.web.app import create_app


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
def app_with_smtp(tmp_path: Path, sink: SmtpSink) -> Iterator[Api]:
    settings = load_settings(
        None,
        data_dir=tmp_path,
        http={"public_url": "https://veche.example.org"},
        smtp={"host": "127.0.0.1", "port": sink.port, "security": "none", "from": "Veche <veche@example.org>",
              "poll_s": 0.1},
    )  # fmt: skip
    container = FakeEngineContainer(settings, ALL_ROLES)
    with TestClient(create_app(container)) as client:
        client.portal.call(_create_admin, container)  # type: ignore[union-attr]
        token = client.post("/api/v1/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD})
        yield Api(client=client, container=container, admin_token=token.json()["token"])


def _calendar_mails(sink: SmtpSink, to: str) -> list[tuple[EmailMessage, Calendar]]:
    """The mails to ``to`` that carry an iCalendar part, with it parsed, in the order they arrived."""
    found = []
    with sink.handler.lock:
        accepted = list(sink.handler.accepted)
    for message in accepted:
        if message["To"] != to:
            continue
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                found.append((message, Calendar.from_ical(part.get_content())))
                break
    return found


def _wait(api: Api, sink: SmtpSink, to: str, count: int, what: str) -> list[tuple[EmailMessage, Calendar]]:
    async def probe() -> list[tuple[EmailMessage, Calendar]]:
        return _calendar_mails(sink, to)

    return api.client.portal.call(  # type: ignore[union-attr]
        lambda: eventually(probe, lambda found: len(found) >= count, what=what)
    )


def _event(calendar: Calendar) -> Any:
    [event] = calendar.walk("VEVENT")
    return event


def test_invitation_update_and_one_occurrence_moved_and_cancelled_arrive_by_smtp(
    app_with_smtp: Api, sink: SmtpSink
) -> None:
    api = app_with_smtp
    _, olga = api.user("olga")
    ivan_id, _ = api.user("ivan")
    start = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Berlin
    created = api.call(
        "POST",
        "/meetings",
        olga,
        json={
            "title": "Weekly sync",
            "starts_at": "2030-03-04T10:00:00+01:00",
            "duration_minutes": 45,
            "time_zone": "Europe/Berlin",
            "recurrence": "FREQ=WEEKLY;BYDAY=MO;UNTIL=20300601",
            "exceptions": ["2030-03-11T10:00:00+01:00"],
            "invite_users": [ivan_id],
            "invite_emails": ["partner@example.com"],
            "guests_allowed": True,
        },
    )
    assert created.status_code == 201, created.text
    meeting = created.json()

    [(mail, invitation)] = _wait(api, sink, "partner@example.com", 1, "the external invitation")
    assert mail["Subject"] == "Invitation: Weekly sync"
    assert invitation["METHOD"] == "REQUEST"
    assert [z["TZID"] for z in invitation.walk("VTIMEZONE")] == ["Europe/Berlin"]
    event = _event(invitation)
    assert event["UID"] == meeting["uid"] and event["SEQUENCE"] == 0
    assert event.decoded("DTSTART") == start
    assert event["RRULE"]["FREQ"] == ["WEEKLY"] and event["RRULE"]["BYDAY"] == ["MO"]
    assert [d.dt for d in event["EXDATE"].dts] == [start + timedelta(days=7)]
    attendees = {str(a): a.params["PARTSTAT"] for a in event["ATTENDEE"]}
    assert attendees == {"mailto:ivan@example.org": "NEEDS-ACTION", "mailto:partner@example.com": "NEEDS-ACTION"}
    assert str(event["ORGANIZER"]) == "mailto:olga@example.org"
    assert str(event["URL"]).startswith("https://veche.example.org/join/")  # the guest link
    [(_, for_ivan)] = _wait(api, sink, "ivan@example.org", 1, "the user's invitation")
    assert str(_event(for_ivan)["URL"]) == f"https://veche.example.org{meeting['join_path']}"

    # A change of the series: an update, same UID, higher SEQUENCE.
    assert api.call("PATCH", f"/meetings/{meeting['id']}", olga, json={"title": "Weekly planning"}).status_code == 200
    update_mail, update = _wait(api, sink, "partner@example.com", 2, "the update")[1]
    assert update_mail["Subject"] == "Updated invitation: Weekly planning"
    assert (update["METHOD"], _event(update)["UID"], _event(update)["SEQUENCE"]) == ("REQUEST", meeting["uid"], 1)
    assert str(_event(update)["SUMMARY"]) == "Weekly planning"

    # One occurrence moved alone, another cancelled alone: named by RECURRENCE-ID, the series stays.
    third = start + timedelta(days=14)
    moved = api.call(
        "PATCH",
        f"/meetings/{meeting['id']}/occurrences/{quote(third.isoformat())}",
        olga,
        json={"starts_at": (third + timedelta(hours=4)).isoformat()},
    )
    assert moved.status_code == 200, moved.text
    fourth = start + timedelta(days=21)
    cancelled = api.call("DELETE", f"/meetings/{meeting['id']}/occurrences/{quote(fourth.isoformat())}", olga)
    assert cancelled.status_code == 200, cancelled.text
    mails = _wait(api, sink, "partner@example.com", 4, "the occurrence's change and cancellation")
    (_, change), (cancel_mail, cancel) = mails[2], mails[3]
    assert change["METHOD"] == "REQUEST"
    assert _event(change).decoded("RECURRENCE-ID") == third
    assert _event(change).decoded("DTSTART") == third + timedelta(hours=4)
    assert _event(change)["SEQUENCE"] == 2 and "RRULE" not in _event(change)
    assert cancel_mail["Subject"] == "Cancelled: Weekly planning on 2030-03-25"
    assert cancel["METHOD"] == "CANCEL"
    assert _event(cancel).decoded("RECURRENCE-ID") == fourth
    assert (_event(cancel)["UID"], _event(cancel)["SEQUENCE"], _event(cancel)["STATUS"]) == (
        meeting["uid"],
        3,
        "CANCELLED",
    )
    assert len(_calendar_mails(sink, "partner@example.com")) == 4  # each once
    # The invited user gets each as one mail with its iCalendar (his notice carries it), never also a plain one.
    _wait(api, sink, "ivan@example.org", 4, "the user's four mails")
    with sink.handler.lock:
        to_ivan = [m for m in sink.handler.accepted if m["To"] == "ivan@example.org"]
    assert len(to_ivan) == 4, [m["Subject"] for m in to_ivan]
