from __future__ import annotations

import pytest

from veche.domain.admission import ParticipantRole
from veche.domain.ticket import JoinTicket, TicketError, TicketExpired, decode_ticket, encode_ticket

KEY = b"k" * 32
TICKET = JoinTicket(
    conference_id=7,
    conference_name="Совет",
    conference_type="all_see_all",
    max_participants=10,
    identity="guest:ab",
    display_name="Гость",
    role=ParticipantRole.SPEAKER,
    expires_at=1000,
)


def test_round_trip() -> None:
    decoded = decode_ticket(encode_ticket(TICKET, KEY), KEY, now_s=999)
    assert decoded == TICKET and decoded.guest


def test_expired() -> None:
    with pytest.raises(TicketExpired, match="expired"):
        decode_ticket(encode_ticket(TICKET, KEY), KEY, now_s=1001)


def test_tampered_or_foreign_key_rejected() -> None:
    text = encode_ticket(TICKET, KEY)
    payload, sig = text.split(".")
    forged = encode_ticket(JoinTicket(**{**TICKET.__dict__, "role": ParticipantRole.MODERATOR}), b"other" * 8)
    with pytest.raises(TicketError, match="signature"):
        decode_ticket(forged.split(".")[0] + "." + sig, KEY, now_s=0)
    with pytest.raises(TicketError, match="signature"):
        decode_ticket(text, b"x" * 32, now_s=0)
    with pytest.raises(TicketError, match="malformed"):
        decode_ticket("garbage", KEY, now_s=0)
