"""The address book: search people the viewer may see, with presence; call one of them (his pages ring)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from veche.base.conferences import ConferenceService
from veche.base.directory.calls import IncomingCalls
from veche.base.directory.presence import PresenceState, PresenceTracker
from veche.domain.chat_rate import ChatRateLimit
from veche.domain.directory import Visibility, phone_digits, search_key
from veche.domain.errors import InvalidInput, NotFound, RateLimited
from veche.domain.model import Conference, User
from veche.storage.address_book import AddressBookEntry, AddressBookStore

__all__ = ["AddressBook", "Contact", "query_key"]

MAX_QUERY = 100
CALL_BURST = 5
CALL_EVERY_S = 12.0
_PHONE_QUERY = re.compile(r"^[+\d\s().-]+$")


@dataclass(frozen=True)
class Contact:
    entry: AddressBookEntry
    presence: PresenceState


def query_key(text: str) -> str:
    """What to look for: case-folded text, or only digits when the query looks like a phone number."""
    text = text.strip()
    if _PHONE_QUERY.match(text) and sum(ch.isdigit() for ch in text) >= 2:
        return phone_digits(text)
    return search_key(text)


class AddressBook:
    def __init__(
        self,
        store: AddressBookStore,
        presence: PresenceTracker,
        conferences: ConferenceService,
        calls: IncomingCalls,
        *,
        now_s: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._presence = presence
        self._conferences = conferences
        self._calls = calls
        self._now_s = now_s
        # Rings per caller: CALL_BURST at once, then one every CALL_EVERY_S (a person calls a few people in a
        # row; a script calling one person in a loop rings him a handful of times, not twenty).
        self._rings = ChatRateLimit(burst=CALL_BURST, per_second=1 / CALL_EVERY_S)

    async def visibility(self, viewer: User) -> Visibility:
        profile = await self._store.viewer(viewer.id)
        return Visibility.of(
            viewer.id,
            profile.access,
            is_admin=viewer.is_admin,
            department=profile.department,
            group_ids=profile.group_ids,
        )

    async def search(self, viewer: User, text: str, *, limit: int = 20) -> list[Contact]:
        if len(text) > MAX_QUERY:
            raise InvalidInput(f"The search text must be at most {MAX_QUERY} characters.")
        self._presence.touch(viewer.id)
        key = query_key(text)
        if not key:
            return []
        entries = await self._store.search(key, await self.visibility(viewer), limit=limit)
        return [Contact(e, self._presence.state(e.user_id)) for e in entries]

    async def contact(self, viewer: User, user_id: int) -> Contact:
        entry = await self._store.get(user_id, await self.visibility(viewer))
        if entry is None:
            # Someone the viewer may not see looks the same as someone who does not exist.
            raise NotFound(f"No contact {user_id} in your address book.")
        return Contact(entry, self._presence.state(user_id))

    async def call(self, caller: User, user_id: int) -> Conference:
        """The conference of calls between the two (made on the first call, then reused); his open pages ring.

        Calling again while it still rings rings nothing more; beyond the per-caller limit, :class:`RateLimited`.
        """
        if user_id == caller.id:
            raise InvalidInput("You cannot call yourself.")
        callee = (await self.contact(caller, user_id)).entry
        self._presence.touch(caller.id)
        conference = await self._conferences.call_conference(
            caller, user_id, f"{caller.display_name} — {callee.display_name}"
        )
        if any(c.conference_id == conference.id for c in self._calls.ringing(user_id)):
            return conference  # it is ringing already: one ring, however often the button is pressed
        if not self._rings.allow(str(caller.id), self._now_s()):
            raise RateLimited(
                "You are calling too often; wait a moment before calling again.", retry_after_s=int(CALL_EVERY_S)
            )
        await self._calls.ring(caller, user_id, conference.id, conference.slug, callee.display_name)
        return conference
