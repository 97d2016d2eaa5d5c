"""Join tickets: what the web role hands a client so an app server admits it without a database.

A ticket is ``base64url(json payload) + "." + base64url(HMAC-SHA256(key, payload))``. The key is the
cluster secret every role shares. Time is passed in, so the rules are tested without clocks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass

from veche.domain.admission import ParticipantRole

__all__ = ["JoinTicket", "TicketError", "TicketExpired", "decode_ticket", "encode_ticket"]

# Long enough to open a socket on a slow network, short enough that a leaked ticket is soon worthless: clients ask
# the web server for a new ticket before every reconnection.
TICKET_LIFETIME_S = 120


class TicketError(Exception):
    """The ticket is malformed or its signature does not match."""

    code = "invalid_ticket"


class TicketExpired(TicketError):
    code = "ticket_expired"


@dataclass(frozen=True)
class JoinTicket:
    conference_id: int
    conference_name: str
    conference_type: str
    max_participants: int
    identity: str  # "user:<id>" or "guest:<random>"
    display_name: str
    role: ParticipantRole
    expires_at: int  # unix seconds
    video_codec: str = ""  # "vp8" | "vp9" | "" (the cluster's default, applied by the app server)
    server_id: str = ""  # the app server the conference is placed on ("" only in tests of one server)
    epoch: int = 0  # the placement's epoch: it grows each time the conference moves to another server
    # One participant session: a reconnect of the same page carries the same one and replaces the old connection.
    session: str = ""
    # Which sign-in the ticket came from (a digest of the session token, "" for guests): signing out ends the
    # connections opened under that sign-in, not those of the same user on his other devices.
    sign_in: str = ""

    @property
    def guest(self) -> bool:
        return self.identity.startswith("guest:")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_ticket(ticket: JoinTicket, key: bytes) -> str:
    payload = json.dumps(asdict(ticket), separators=(",", ":"), sort_keys=True).encode()
    signature = hmac.new(key, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def decode_ticket(text: str, key: bytes, now_s: float) -> JoinTicket:
    """Check the signature and expiry; raise :class:`TicketError` or :class:`TicketExpired`."""
    try:
        payload_part, signature_part = text.split(".")
        payload = _unb64(payload_part)
        signature = _unb64(signature_part)
    except (ValueError, TypeError) as e:
        raise TicketError("The join ticket is malformed.") from e
    expected = hmac.new(key, payload, hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise TicketError("The join ticket's signature does not match.")
    try:
        fields = json.loads(payload)
        fields["role"] = ParticipantRole(fields["role"])
        ticket = JoinTicket(**fields)
    except (ValueError, TypeError, KeyError) as e:
        raise TicketError("The join ticket is malformed.") from e
    if ticket.expires_at < now_s:
        raise TicketExpired("The join ticket has expired; open the conference again.")
    return ticket
