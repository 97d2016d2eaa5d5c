"""The dial-in decision over in-memory numbers and license, and its bus messages' wire form."""

from __future__ import annotations

import pytest

from tests.sip.test_fuzz import request
from tests.sip.test_transactions import PCMU_SDP
from veche.app.admission import CountedAdmission
from veche.app.sip.dial_in import UNKNOWN_NUMBERS_PER_MINUTE, DialIn, Dialled, dialled
from veche.app.sip.directory import ConferenceDirectory, DialInTarget, DirectoryUnavailable, FixedDirectory
from veche.app.sip.message import SipRequest, parse_message
from veche.bus.envelope import decode_message, decode_reply, encode_message
from veche.bus.sip_messages import DialInConference, FindDialInConference
from veche.domain.license_pools import Pool


@pytest.mark.parametrize(
    ("uri", "wanted"),
    [
        ("sip:12345678@veche.example", Dialled("12345678")),
        ("sips:12345678@veche.example:5061;transport=tls", Dialled("12345678")),
        ("sip:12345678:secret@veche.example", Dialled("12345678")),
        ("SIP:12345678@10.0.0.1?subject=x", Dialled("12345678")),
        ("sip:12345678*4321@veche.example", Dialled("12345678", "4321")),
        ("sip:12345678*12@veche.example", None),  # not a PIN
        ("sip:room@veche.example", None),
        ("sip:0123456@veche.example", None),  # no leading zero
        ("sip:123@veche.example", None),  # too short to be a conference
        ("tel:+4930123456", None),
        ("sip:veche.example", None),
    ],
)
def test_what_was_dialled(uri: str, wanted: Dialled | None) -> None:
    assert dialled(uri) == wanted


class Unreachable(ConferenceDirectory):
    async def find(self, number: str, *, pin: str = "", caller: str = "") -> DialInTarget | None:
        raise DirectoryUnavailable("no responder")


def invite(number: str, body: bytes = PCMU_SDP) -> SipRequest:
    message = parse_message(request("INVITE", "c", body=body).replace(b"12345678", number.encode()))
    assert isinstance(message, SipRequest)
    return message


async def test_when_numbers_cannot_be_looked_up_the_caller_hears_503() -> None:
    answer = await DialIn(Unreachable(), CountedAdmission()).answer(invite("12345678"))
    assert (answer.status, answer.text) == (503, "Conferences cannot be looked up right now. Call again later.")


async def test_an_invite_without_an_offer_is_488() -> None:
    dial_in = DialIn(FixedDirectory({"12345678": DialInTarget(1, "W")}), CountedAdmission())
    answer = await dial_in.answer(invite("12345678", body=b""))
    assert (answer.status, answer.text) == (488, "The INVITE must carry an SDP offer (application/sdp).")


async def test_a_call_that_passes_holds_no_seat_afterwards() -> None:
    admission = CountedAdmission(limits={Pool.GATEWAY: 1})
    dial_in = DialIn(FixedDirectory({"12345678": DialInTarget(1, "W")}), admission)
    for _ in range(3):
        answer = await dial_in.answer(invite("12345678"))
        assert answer.status == 480
    assert admission.in_use == {Pool.VIDEO: 0, Pool.GATEWAY: 0}


async def test_an_address_trying_numbers_is_held_back_and_others_are_not() -> None:
    now = [1000.0]
    dial_in = DialIn(FixedDirectory({"12345678": DialInTarget(1, "W")}), CountedAdmission(), clock_s=lambda: now[0])
    for n in range(UNKNOWN_NUMBERS_PER_MINUTE):
        assert (await dial_in.answer(invite(f"2000000{n}"), "10.0.0.66")).status == 404
    held = await dial_in.answer(invite("12345678"), "10.0.0.66")
    assert (held.status, held.text) == (403, "Too many unknown numbers. Try again in 60 seconds.")
    assert (await dial_in.answer(invite("12345678"), "10.0.0.7")).status == 480  # another caller
    now[0] += 61
    assert (await dial_in.answer(invite("12345678"), "10.0.0.66")).status == 480


async def test_a_refusal_of_the_base_role_is_told_in_its_words() -> None:
    target = DialInTarget(1, "W", "meeting_not_open", "“W” opens for joining at 2026-12-04 10:00 (UTC).")
    answer = await DialIn(FixedDirectory({"12345678": target}), CountedAdmission()).answer(invite("12345678"))
    assert (answer.status, answer.text) == (480, target.message)
    target = DialInTarget(1, "W", "guests_not_allowed", "No guests.")
    answer = await DialIn(FixedDirectory({"12345678": target}), CountedAdmission()).answer(invite("12345678"))
    assert (answer.status, answer.text) == (403, "No guests.")


def test_the_bus_messages_round_trip() -> None:
    ask = FindDialInConference(number="12345678", pin="4321", caller="10.0.0.5")
    reply = DialInConference(found=True, conference_id=7, name="Weekly", refusal="pin_required", message="PIN?")
    assert decode_message(encode_message(ask), FindDialInConference) == ask
    assert decode_reply(encode_message(reply), FindDialInConference) == reply
