"""The base role's answer to "which conference is this number, and may this caller join?", over the bus of an
in-process server: a caller is a guest, so guests must be allowed, and a meeting's PIN and opening hours apply."""

from __future__ import annotations

from tests.web.conftest import Api
from tests.web.test_api_meetings import _weekly, meetings_api  # noqa: F401 - the in-process server fixture
from veche.bus.sip_messages import DialInConference, FindDialInConference


def ask(api: Api, number: str, pin: str = "") -> DialInConference:
    async def request() -> DialInConference:
        message = FindDialInConference(number=number, pin=pin, caller="10.0.0.9")
        return await api.container.get_bus().request(message)

    return api.client.portal.call(request)  # type: ignore[union-attr]


def test_a_meeting_s_pin_and_opening_hours_apply_to_callers(meetings_api: Api) -> None:  # noqa: F811
    api = meetings_api
    _, olga = api.user("olga")
    ivan_id, _ = api.user("ivan")
    meeting = _weekly(api, olga, ivan_id, pin="480213")
    number = api.call("GET", f"/conferences/{meeting['conference_id']}", olga).json()["number"]
    assert ask(api, number, "480213").refusal == "meeting_not_open"  # it starts in two days
    assert api.call("POST", f"/meetings/{meeting['id']}/start", olga).status_code == 200
    assert ask(api, number, "480213").model_dump() == {
        "found": True,
        "conference_id": meeting["conference_id"],
        "name": "Weekly sync",
        "refusal": "",
        "message": "",
    }
    assert ask(api, number, "").refusal == "pin_required"
    wrong = ask(api, number, "111111")
    assert (wrong.refusal, wrong.message) == (
        "pin_required",
        "That is not this meeting's PIN. Check the invitation and try again.",
    )


def test_unknown_numbers_and_conferences_without_guests(meetings_api: Api) -> None:  # noqa: F811
    api = meetings_api
    closed = api.conference(api.admin_token, name="Staff", guests_allowed=False)
    assert ask(api, closed["number"]).refusal == "guests_not_allowed"
    open_ = api.conference(api.admin_token, name="Open", guests_allowed=True)
    assert ask(api, open_["number"]).refusal == ""
    assert ask(api, "10000001") == DialInConference(found=False)
    assert ask(api, "not-a-number") == DialInConference(found=False)
