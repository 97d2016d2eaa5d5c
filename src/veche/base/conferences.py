"""Conferences: creating them, who sees them, and join tickets for users and guests."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace

from veche.domain.admission import ParticipantRole, admit_guest, admit_user, may_see, not_visible
from veche.domain.clock import Clock
from veche.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from veche.domain.model import Conference, ConferenceAccess, ConferenceType, User, VideoCodec
from veche.domain.names import clean_name
from veche.domain.ticket import TICKET_LIFETIME_S, JoinTicket, encode_ticket
from veche.storage.conferences import ConferencePage, ConferenceStore
from veche.storage.users import UserStore

__all__ = ["ConferenceChanges", "ConferenceService", "NewConference", "sign_in_digest"]

MAX_PARTICIPANTS_LIMIT = 1000


@dataclass(frozen=True)
class NewConference:
    name: str
    type: ConferenceType = ConferenceType.ALL_SEE_ALL
    max_participants: int = 50
    guests_allowed: bool = False
    access: ConferenceAccess = ConferenceAccess.OPEN
    invited: frozenset[int] = frozenset()
    moderators: frozenset[int] = frozenset()
    owner_id: int | None = None  # admins may create on behalf of someone
    call_pair: str | None = None  # an ad hoc call between two users (one conference per pair)
    video_codec: VideoCodec | None = None  # None: the cluster's default


@dataclass(frozen=True)
class ConferenceChanges:
    """What an administrator changes in a conference; None: unchanged (``invited``/``moderators`` replace)."""

    name: str | None = None
    type: ConferenceType | None = None
    max_participants: int | None = None
    guests_allowed: bool | None = None
    access: ConferenceAccess | None = None
    invited: frozenset[int] | None = None
    moderators: frozenset[int] | None = None


def sign_in_digest(session_token: str) -> str:
    """Names a sign-in in tickets and bus messages without revealing its token."""
    return hashlib.sha256(b"sign-in:" + session_token.encode()).hexdigest()[:24]


class ConferenceService:
    def __init__(self, conferences: ConferenceStore, users: UserStore, clock: Clock, ticket_key: bytes) -> None:
        self._conferences = conferences
        self._users = users
        self._clock = clock
        self._key = ticket_key

    async def create(self, creator: User, spec: NewConference) -> Conference:
        name = clean_name(spec.name, what="The conference name", max_length=256)
        if not 2 <= spec.max_participants <= MAX_PARTICIPANTS_LIMIT:
            raise InvalidInput(f"The participant limit must be between 2 and {MAX_PARTICIPANTS_LIMIT}.")
        owner_id = spec.owner_id if spec.owner_id is not None else creator.id
        if owner_id != creator.id and not creator.is_admin:
            raise Forbidden("Only an administrator may create a conference for another user.")
        referenced = set(spec.invited) | set(spec.moderators) | {owner_id}
        found = {u.id for u in await self._users.get_many(referenced)}
        missing = sorted(referenced - found)
        if missing:
            raise InvalidInput(f"Unknown user id(s): {', '.join(map(str, missing))}.")
        return await self._conferences.create(
            name=name,
            owner_id=owner_id,
            type=spec.type,
            max_participants=spec.max_participants,
            guests_allowed=spec.guests_allowed,
            access=spec.access,
            invite_code=secrets.token_urlsafe(12),
            slug=secrets.token_urlsafe(9),
            call_pair=spec.call_pair,
            invited=set(spec.invited),
            moderators=set(spec.moderators),
            now=self._clock(),
            video_codec=spec.video_codec,
        )

    async def page(self, *, query: str = "", limit: int = 50, offset: int = 0) -> ConferencePage:
        """Every conference, paged in the database (the console's list; the caller checked he is an admin)."""
        return await self._conferences.page(query=query[:256], limit=limit, offset=offset)

    async def update(self, conference_id: int, changes: ConferenceChanges) -> Conference:
        """Change a conference (the caller checked he may). Running rooms keep their settings until they end;
        new joins get the new ones."""
        name = None if changes.name is None else clean_name(changes.name, what="The conference name", max_length=256)
        if changes.max_participants is not None and not 2 <= changes.max_participants <= MAX_PARTICIPANTS_LIMIT:
            raise InvalidInput(f"The participant limit must be between 2 and {MAX_PARTICIPANTS_LIMIT}.")
        referenced = set(changes.invited or ()) | set(changes.moderators or ())
        found = {u.id for u in await self._users.get_many(referenced)}
        missing = sorted(referenced - found)
        if missing:
            raise InvalidInput(f"Unknown user id(s): {', '.join(map(str, missing))}.")
        updated = await self._conferences.update(
            conference_id,
            name=name,
            type=changes.type,
            max_participants=changes.max_participants,
            guests_allowed=changes.guests_allowed,
            access=changes.access,
            invited=set(changes.invited) if changes.invited is not None else None,
            moderators=set(changes.moderators) if changes.moderators is not None else None,
        )
        if updated is None:
            raise NotFound(f"Conference {conference_id} does not exist.")
        return updated

    async def delete(self, conference_id: int) -> None:
        if not await self._conferences.delete(conference_id):
            raise NotFound(f"Conference {conference_id} does not exist.")

    async def list_visible(
        self, user: User, *, calls: bool = True, limit: int = 100, offset: int = 0
    ) -> ConferencePage:
        """The conferences ``user`` may see and join, newest first, one page (filtered and paged in the store)."""
        return await self._conferences.visible_page(
            user.id, is_admin=user.is_admin, calls=calls, limit=limit, offset=offset
        )

    async def call_conference(self, caller: User, callee: int, name: str) -> Conference:
        """The one conference of calls between ``caller`` and ``callee``: made on the first call, then reused."""
        pair = ":".join(str(i) for i in sorted((caller.id, callee)))
        existing = await self._conferences.by_call_pair(pair)
        if existing is not None:
            return existing
        spec = NewConference(
            name=name[:256],
            max_participants=2,
            access=ConferenceAccess.INVITED,
            invited=frozenset({callee, caller.id}),
            call_pair=pair,
        )
        try:
            return await self.create(caller, spec)
        except Conflict:  # both called each other at once: the other call made it
            found = await self._conferences.by_call_pair(pair)
            if found is None:
                raise
            return found

    async def get_visible(self, conference_id: int, user: User) -> Conference:
        conference = await self._conferences.get(conference_id)
        # A conference the user may not see looks the same as one that does not exist.
        if conference is None or not may_see(conference, user):
            raise not_visible(conference_id)
        return conference

    async def visible_by_slug(self, slug: str, user: User) -> Conference:
        conference = await self._conferences.by_slug(slug)
        if conference is None or not may_see(conference, user):
            raise NotFound("This conference does not exist or you may not see it.")
        return conference

    async def get(self, conference_id: int) -> Conference:
        conference = await self._conferences.get(conference_id)
        if conference is None:
            raise NotFound(f"Conference {conference_id} does not exist.")
        return conference

    async def by_invite(self, code: str) -> Conference:
        conference = await self._conferences.by_invite_code(code)
        if conference is None:
            raise NotFound("This invite link is not valid (the conference may have been deleted).")
        return conference

    async def ticket_for_user(
        self, conference_id: int, user: User, *, sign_in_token: str = ""
    ) -> tuple[Conference, JoinTicket]:
        """The conference and an unsealed ticket (:meth:`seal` names the server, once placement chose one)."""
        conference = await self._conferences.get(conference_id)
        if conference is None:
            raise not_visible(conference_id)
        role = admit_user(conference, user)
        ticket = self._ticket(conference, f"user:{user.id}", user.display_name, role)
        return conference, replace(ticket, sign_in=sign_in_digest(sign_in_token) if sign_in_token else "")

    async def ticket_for_guest(self, code: str, display_name: str, guest_key: str) -> tuple[Conference, JoinTicket]:
        """``guest_key`` is the guest's browser's own secret (a cookie): the same browser is the same guest, so a
        guest a moderator removed stays out, and his reconnects replace his connection."""
        name = clean_name(display_name, what="Your display name", max_length=64)
        conference = await self.by_invite(code)
        role = admit_guest(conference)
        identity = "guest:" + hashlib.sha256(f"{conference.id}:{guest_key}".encode()).hexdigest()[:16]
        return conference, self._ticket(conference, identity, name, role)

    def seal(self, ticket: JoinTicket, *, server_id: str, epoch: int, session: str) -> str:
        """The signed ticket for the server the conference is placed on, for one participant session."""
        return encode_ticket(replace(ticket, server_id=server_id, epoch=epoch, session=session), self._key)

    def _ticket(self, conference: Conference, identity: str, display_name: str, role: ParticipantRole) -> JoinTicket:
        return JoinTicket(
            conference_id=conference.id,
            conference_name=conference.name,
            conference_type=conference.type.value,
            max_participants=conference.max_participants,
            identity=identity,
            display_name=display_name,
            role=role,
            video_codec=conference.video_codec.value if conference.video_codec is not None else "",
            expires_at=int(self._clock().timestamp()) + TICKET_LIFETIME_S,
        )
