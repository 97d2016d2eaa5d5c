"""What Veche answers a call to ``sip:<conference number>@<domain>`` or ``sip:<number>*<PIN>@<domain>`` (docs/sip.md).

In order: the number must be a conference's (404; an address that dials many unknown numbers is held back, 403, so
numbers cannot be found by trying), the caller may join it as a guest (403: no guests, a meeting's PIN missing or
wrong; 480: a meeting not open yet), the INVITE must carry an SDP offer Veche can read (400) with an audio codec it
takes (488), and the license must have a gateway connection free (486, the license's own words in a Warning). Each
refusal leaves nothing allocated. Audio from phones into conferences (issue 13, phase 2) is not built: a call that
passes every check is answered 480 and its seat given back at once, so no call is ever answered without media.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from veche.app.admission import Admission
from veche.app.sip.directory import ConferenceDirectory, DialInTarget, DirectoryUnavailable
from veche.app.sip.message import SipRequest
from veche.app.sip.sdp import AUDIO_CODECS, MalformedSdp, choose_audio_codec, parse_sdp
from veche.domain.conference_numbers import is_conference_number
from veche.domain.login_throttle import Attempt, LoginThrottle, Refusal
from veche.domain.room import ParticipantKind
from veche.domain.room_errors import LicenseExhausted

__all__ = ["Answer", "DialIn", "Dialled", "dialled"]

logger = logging.getLogger(__name__)
_SIP_URI = re.compile(r"sips?:([^@;?]+)@[^;?]+.*", re.IGNORECASE)
_PIN = re.compile(r"[0-9]{4,12}")
UNKNOWN_NUMBERS_PER_MINUTE = 10  # from one address, before it is held back (then doubling, as for logins)
# How the base role's refusals sound to a caller.
_REFUSALS = {"meeting_not_open": (480, "Temporarily Unavailable")}


@dataclass(frozen=True)
class Answer:
    """A final response to an INVITE: status, reason phrase, and what went wrong in plain words."""

    status: int
    reason: str
    text: str


@dataclass(frozen=True)
class Dialled:
    number: str
    pin: str = ""


def dialled(uri: str) -> Dialled | None:
    """The conference number (and a PIN after ``*``) in a SIP request URI's user part, else None."""
    match = _SIP_URI.fullmatch(uri)
    if match is None:
        return None
    user = match.group(1).partition(":")[0]  # a password in the URI is ignored
    number, star, pin = user.partition("*")
    if not is_conference_number(number) or (star and not _PIN.fullmatch(pin)):
        return None
    return Dialled(number, pin)


class DialIn:
    def __init__(
        self,
        directory: ConferenceDirectory,
        admission: Admission,
        *,
        clock_s: Callable[[], float] = time.monotonic,
    ) -> None:
        self._directory = directory
        self._admission = admission
        self._clock_s = clock_s
        self._guesses = LoginThrottle(max_failures=UNKNOWN_NUMBERS_PER_MINUTE, window_s=60.0, name="sip_number")

    async def _conference(self, invite: SipRequest, caller: str, attempt: Attempt) -> DialInTarget | Answer:
        """The dialled conference, or the answer when there is none; unknown numbers count against the caller."""
        unknown = True
        try:
            wanted = dialled(invite.uri)
            if wanted is None:
                return Answer(404, "Not Found", "Dial a conference number: sip:<digits>@<this server>.")
            try:
                target = await self._directory.find(wanted.number, pin=wanted.pin, caller=caller)
            except DirectoryUnavailable as e:
                unknown = False  # not the caller's fault
                logger.warning("SIP call to %s: the conference directory did not answer: %s", wanted.number, e)
                return Answer(
                    503, "Service Unavailable", "Conferences cannot be looked up right now. Call again later."
                )
            if target is None:
                return Answer(404, "Not Found", f"No conference has the number {wanted.number}.")
            unknown = False
            return target
        finally:
            if unknown:
                self._guesses.failed(attempt, self._clock_s())
            else:  # a known number neither clears nor adds to the caller's count of unknown ones
                self._guesses.released(attempt, self._clock_s())

    async def answer(self, invite: SipRequest, caller: str = "") -> Answer:
        """The final answer to ``invite`` from the address ``caller``."""
        attempt = self._guesses.begin("number", caller, self._clock_s())
        if isinstance(attempt, Refusal):
            return Answer(
                403, "Forbidden", f"Too many unknown numbers. Try again in {attempt.retry_after_whole_s} seconds."
            )
        target = await self._conference(invite, caller, attempt)
        if isinstance(target, Answer):
            return target
        if target.refusal:
            status, reason = _REFUSALS.get(target.refusal, (403, "Forbidden"))
            return Answer(status, reason, target.message)
        content_type = (invite.header("Content-Type") or "").split(";")[0].strip().lower()
        if not invite.body or content_type != "application/sdp":
            return Answer(488, "Not Acceptable Here", "The INVITE must carry an SDP offer (application/sdp).")
        try:
            offer = parse_sdp(invite.body)
        except MalformedSdp as e:
            return Answer(400, "Bad Request", f"The SDP offer cannot be read: {e}.")
        if choose_audio_codec(offer) is None:
            return Answer(
                488,
                "Not Acceptable Here",
                f"No audio codec in common: Veche takes {', '.join(AUDIO_CODECS)} over RTP/AVP.",
            )
        try:
            seat = await self._admission.admit(f"sip:{invite.call_id}", ParticipantKind.GATEWAY, False)
        except LicenseExhausted as e:
            return Answer(486, "Busy Here", e.message)
        # Phase 2 (audio into the conference) is not built: give the seat back and say so, never a silent 200.
        seat.release()
        return Answer(480, "Temporarily Unavailable", "Calls from phones cannot join conferences yet.")
