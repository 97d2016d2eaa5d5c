"""Base role: answers app servers' SIP listeners which conference a dialled number is and whether the caller may
join it (docs/sip.md). A caller is a guest: the conference must take guests, and a meeting's PIN and opening
hours apply as for any guest (the PIN throttle too)."""

from __future__ import annotations

from veche.base.meetings import MeetingService
from veche.bus.base import Bus
from veche.bus.sip_messages import DialInConference, FindDialInConference
from veche.domain.conference_numbers import is_conference_number
from veche.domain.errors import DomainError
from veche.storage.conferences import ConferenceStore

__all__ = ["DialInDirectory"]


class DialInDirectory:
    def __init__(self, bus: Bus, conferences: ConferenceStore, meetings: MeetingService) -> None:
        self._conferences = conferences
        self._meetings = meetings
        bus.handle(FindDialInConference, self._find)

    async def _find(self, message: FindDialInConference) -> DialInConference:
        if not is_conference_number(message.number):
            return DialInConference(found=False)
        conference = await self._conferences.by_number(message.number)
        if conference is None:
            return DialInConference(found=False)
        found = DialInConference(found=True, conference_id=conference.id, name=conference.name)
        if not conference.guests_allowed:
            return found.model_copy(
                update={
                    "refusal": "guests_not_allowed",
                    "message": "This conference takes no guests, and callers by phone join as guests.",
                }
            )
        try:
            await self._meetings.check_join(conference, None, pin=message.pin or None, address=message.caller)
        except DomainError as e:
            return found.model_copy(update={"refusal": e.code, "message": e.message})
        return found
