"""Bus messages of SIP dial-in (docs/sip.md): the app server's SIP listener asks the base role which conference a
dialled number is, and whether this caller may join it now."""

from __future__ import annotations

from typing import ClassVar

from veche.bus.messages import BusMessage, BusRequest

__all__ = ["DialInConference", "FindDialInConference"]


class DialInConference(BusMessage):
    subject: ClassVar[str] = "veche.sip.conference.reply"
    found: bool
    conference_id: int = 0
    name: str = ""
    # Why the caller may not join (the conference exists): "guests_not_allowed", "pin_required" (none or a wrong
    # one), "rate_limited" (too many wrong PINs), "meeting_not_open"; "" when he may. ``message`` says it in words.
    refusal: str = ""
    message: str = ""


class FindDialInConference(BusRequest[DialInConference]):
    """App server to the base role, per incoming call: the conference with this number, if there is one, and whether
    a caller (a guest) at ``caller`` with ``pin`` may join it now."""

    subject: ClassVar[str] = "veche.sip.conference"
    number: str
    pin: str = ""
    caller: str = ""  # the caller's address, for the PIN throttle
