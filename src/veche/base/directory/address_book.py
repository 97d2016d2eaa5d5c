"""The address book: search people the viewer may see, with presence; call one of them (his pages ring)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from veche.base.conferences import ConferenceService, NewConference
from veche.base.directory.calls import IncomingCalls
from veche.base.directory.presence import PresenceState, PresenceTracker
from veche.domain.directory import Visibility, phone_digits, search_key
from veche.domain.errors import InvalidInput, NotFound
from veche.domain.model import Conference, ConferenceAccess, User
from veche.storage.address_book import AddressBookEntry, AddressBookStore

__all__ = ["AddressBook", "Contact", "query_key"]

MAX_QUERY = 100
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
    ) -> None:
        self._store = store
        self._presence = presence
        self._conferences = conferences
        self._calls = calls

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
        """An ad hoc conference with the contact, open only to the two of them; his open pages ring."""
        if user_id == caller.id:
            raise InvalidInput("You cannot call yourself.")
        callee = (await self.contact(caller, user_id)).entry
        self._presence.touch(caller.id)
        conference = await self._conferences.create(
            caller,
            NewConference(
                name=f"{caller.display_name} — {callee.display_name}"[:256],
                max_participants=2,
                access=ConferenceAccess.INVITED,
                invited=frozenset({user_id}),
                moderators=frozenset(),
            ),
        )
        await self._calls.ring(caller, user_id, conference.id, conference.slug)
        return conference
