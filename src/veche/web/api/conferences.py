"""Conferences: create, list, join (users and guests by invite), and moderate live participants."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response

from veche.base.conferences import ConferenceChanges, NewConference
from veche.bus.base import Bus, NoResponder
from veche.bus.messages import (
    BusMessage,
    BusRequest,
    ListParticipants,
    LiveParticipant,
    ModerateParticipant,
    RemovedEntry,
)
from veche.domain.admission import may_manage
from veche.domain.errors import Conflict, Forbidden, NotFound
from veche.domain.model import Conference, ConferenceAccess, ConferenceType, User, VideoCodec
from veche.domain.ticket import JoinTicket
from veche.domain.turn_credentials import client_ice_servers
from veche.web.api.auth import client_address
from veche.web.api.params import MAX_ID, ConferenceId
from veche.web.api.schemas import ConferenceIn, ConferenceOut, ConferencePatch, GuestJoinIn, JoinIn, JoinOut
from veche.web.security import Caller, current_caller, current_user, require_admin, secure_request

router = APIRouter(tags=["conferences"])

R = TypeVar("R", bound=BusMessage)

# A guest's browser keeps its own secret: the same browser is the same guest in a conference (his reconnects
# replace his connection; a moderator's removal keeps him out).
GUEST_COOKIE = "veche_guest"
GUEST_COOKIE_S = 30 * 86400
GUEST_KEY = re.compile(r"[A-Za-z0-9_-]{32}")


def base_url(request: Request) -> str:
    configured = request.app.state.container.settings.http.public_url
    return (configured or str(request.base_url)).rstrip("/")


def signaling_url(request: Request) -> str:
    configured = request.app.state.container.settings.signaling.public_url
    if configured:
        return str(configured)
    scheme = "wss" if base_url(request).startswith("https") else "ws"
    host = base_url(request).split("://", 1)[1]
    return f"{scheme}://{host}/ws/v1"


async def _join_out(request: Request, conference: Conference, ticket: JoinTicket, body: JoinIn | None) -> JoinOut:
    container = request.app.state.container
    target = await container.get_signaling_placement().target_for(
        conference, region=body.region if body else None, failed_server=body.failed_server if body else None
    )
    session = (body.session if body else None) or secrets.token_hex(16)
    sealed = container.get_conferences().seal(ticket, server_id=target.server_id, epoch=target.epoch, session=session)
    shared = container.get_agent().settings
    return JoinOut(
        conference={"id": conference.id, "name": conference.name, "type": conference.type.value},
        signaling_url=target.signaling_url or signaling_url(request),
        server_id=target.server_id,
        ticket=sealed,
        session=session,
        ice_servers=client_ice_servers(
            [*container.settings.signaling.ice_servers, *shared.turn_servers], ticket.identity, time.time()
        ),
        client=shared.client_defaults(),
    )


@router.post("/conferences", response_model=ConferenceOut, status_code=201, summary="Create a conference")
async def create_conference(body: ConferenceIn, request: Request, user: User = Depends(current_user)) -> ConferenceOut:
    spec = NewConference(
        name=body.name,
        type=ConferenceType(body.type),
        max_participants=body.max_participants,
        guests_allowed=body.guests_allowed,
        access=ConferenceAccess(body.access),
        invited=frozenset(body.invited),
        moderators=frozenset(body.moderators),
        owner_id=body.owner_id,
        video_codec=VideoCodec(body.video_codec) if body.video_codec else None,
    )
    conference = await request.app.state.container.get_conferences().create(user, spec)
    return ConferenceOut.of(conference, base_url(request))


@router.get(
    "/conferences",
    response_model=list[ConferenceOut],
    summary="Conferences I may see and join, newest first, paged; X-Total-Count: how many in all",
)
async def list_conferences(
    request: Request,
    response: Response,
    user: User = Depends(current_user),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_ID),
    calls: bool = Query(True, description="Include ad hoc calls between two users"),
) -> list[ConferenceOut]:
    page = await request.app.state.container.get_conferences().list_visible(
        user, calls=calls, limit=limit, offset=offset
    )
    response.headers["X-Total-Count"] = str(page.total)
    return [ConferenceOut.of(c, base_url(request)) for c in page.conferences]


@router.get("/conferences/{conference_id}", response_model=ConferenceOut, summary="One conference")
async def get_conference(
    conference_id: ConferenceId, request: Request, user: User = Depends(current_user)
) -> ConferenceOut:
    conference = await request.app.state.container.get_conferences().get_visible(conference_id, user)
    return ConferenceOut.of(conference, base_url(request))


@router.patch(
    "/conferences/{conference_id}",
    response_model=ConferenceOut,
    summary="Change a conference (admin); running calls keep their settings until they end",
)
async def update_conference(
    conference_id: ConferenceId, body: ConferencePatch, request: Request, _admin: User = Depends(require_admin)
) -> ConferenceOut:
    changes = ConferenceChanges(
        name=body.name,
        type=ConferenceType(body.type) if body.type is not None else None,
        max_participants=body.max_participants,
        guests_allowed=body.guests_allowed,
        access=ConferenceAccess(body.access) if body.access is not None else None,
        invited=frozenset(body.invited) if body.invited is not None else None,
        moderators=frozenset(body.moderators) if body.moderators is not None else None,
    )
    conference = await request.app.state.container.get_conferences().update(conference_id, changes)
    return ConferenceOut.of(conference, base_url(request))


CONFERENCE_DELETED_BY = "An administrator"  # the client shows "An administrator removed you from the conference."


@router.delete(
    "/conferences/{conference_id}",
    status_code=204,
    summary="Delete a conference (admin): 409 while people are in it, unless force=true ends the call for them",
)
async def delete_conference(
    conference_id: ConferenceId,
    request: Request,
    force: bool = Query(False, description="End the call for the people in it, then delete"),
    _admin: User = Depends(require_admin),
) -> None:
    await delete_conference_as_admin(request, conference_id, force=force)


async def delete_conference_as_admin(request: Request, conference_id: int, *, force: bool) -> None:
    """Delete a conference; with people in it only when ``force`` (each is removed from the call)."""
    service = request.app.state.container.get_conferences()
    conference = await service.get(conference_id)
    live = await _ask_conference_server(request, conference_id, ListParticipants(conference_id=conference_id))
    people = live.participants if live is not None else []
    if people and not force:
        count = f"{len(people)} person is" if len(people) == 1 else f"{len(people)} people are"
        raise Conflict(
            f"{count} in “{conference.name}” now. Wait until the call ends, or delete with force to end it for them."
        )
    await service.delete(conference_id)  # first: nobody gets a new ticket for it
    for person in people:
        message = ModerateParticipant(
            conference_id=conference_id, participant=person.id, action="remove", by=CONFERENCE_DELETED_BY
        )
        await _ask_conference_server(request, conference_id, message)


@router.post("/conferences/{conference_id}/join", response_model=JoinOut, summary="Get a join ticket")
async def join_conference(
    conference_id: ConferenceId, request: Request, body: JoinIn | None = None, caller: Caller = Depends(current_caller)
) -> JoinOut:
    conference, ticket = await request.app.state.container.get_conferences().ticket_for_user(
        conference_id, caller.user, sign_in_token=caller.token
    )
    await request.app.state.container.get_meetings().check_join(conference, caller.user)  # a scheduled meeting opens
    return await _join_out(request, conference, ticket, body)


@router.get("/invites/{code}", summary="What an invite link leads to (no login needed)")
async def invite_info(code: str, request: Request) -> dict[str, Any]:
    conference = await request.app.state.container.get_conferences().by_invite(code)
    return {
        "conference": {"id": conference.id, "name": conference.name},
        "guests_allowed": conference.guests_allowed,
    }


@router.post("/invites/{code}/join", response_model=JoinOut, summary="Join as a guest by invite code")
async def join_as_guest(code: str, body: GuestJoinIn, request: Request, response: Response) -> JoinOut:
    container = request.app.state.container
    if not container.get_agent().settings.guests_allowed:
        raise Forbidden("Guests are not allowed in this organisation. Ask for an account.")
    key = request.cookies.get(GUEST_COOKIE, "")
    if not GUEST_KEY.fullmatch(key):
        key = secrets.token_urlsafe(24)
        response.set_cookie(
            GUEST_COOKIE, key, max_age=GUEST_COOKIE_S, httponly=True, samesite="lax", secure=secure_request(request)
        )
    conference, ticket = await container.get_conferences().ticket_for_guest(code, body.display_name, key)
    # A scheduled meeting opens at its time, and asks its guests for its PIN if it has one.
    await container.get_meetings().check_join(conference, None, pin=body.pin, address=client_address(request))
    return await _join_out(request, conference, ticket, body)


async def _managed(request: Request, conference_id: int, user: User) -> Conference:
    conference = await request.app.state.container.get_conferences().get_visible(conference_id, user)
    if not may_manage(conference, user):
        raise Forbidden("Only the owner, moderators and administrators may moderate this conference.")
    return conference


async def _ask_conference_server(request: Request, conference_id: int, message: BusRequest[R]) -> R | None:
    """Ask the app server the conference runs on; None when it runs nowhere (or its server is gone)."""
    container = request.app.state.container
    server = await container.get_signaling_placement().server_of(conference_id)
    if server is None:
        return None
    try:
        bus: Bus = container.get_bus()
        return await bus.request_to(server, message)
    except NoResponder:
        return None


@router.get(
    "/conferences/{conference_id}/participants",
    response_model=list[LiveParticipant],
    summary="Who is in the conference now",
)
async def live_participants(
    conference_id: ConferenceId, request: Request, user: User = Depends(current_user)
) -> list[LiveParticipant]:
    await request.app.state.container.get_conferences().get_visible(conference_id, user)
    reply = await _ask_conference_server(request, conference_id, ListParticipants(conference_id=conference_id))
    return reply.participants if reply is not None else []


@router.get(
    "/conferences/{conference_id}/removed",
    response_model=list[RemovedEntry],
    summary="Who a moderator removed (they stay out until let back; moderators)",
)
async def removed_participants(
    conference_id: ConferenceId, request: Request, user: User = Depends(current_user)
) -> list[RemovedEntry]:
    await _managed(request, conference_id, user)
    reply = await _ask_conference_server(request, conference_id, ListParticipants(conference_id=conference_id))
    return reply.removed if reply is not None else []


@router.post(
    "/conferences/{conference_id}/removed/{identity}/readmit",
    status_code=204,
    summary="Let a removed participant back in (moderators)",
)
async def readmit_participant(
    conference_id: ConferenceId, identity: str, request: Request, user: User = Depends(current_user)
) -> None:
    await _moderate(request, conference_id, identity, "readmit", user)


async def _moderate(request: Request, conference_id: int, participant: str, action: str, user: User) -> None:
    await _managed(request, conference_id, user)
    message = ModerateParticipant(
        conference_id=conference_id, participant=participant, action=action, by=user.display_name
    )
    reply = await _ask_conference_server(request, conference_id, message)
    if reply is None:
        raise NotFound(f"Participant {participant} is not in conference {conference_id}.")
    if not reply.ok:
        raise NotFound(reply.message)


@router.post(
    "/conferences/{conference_id}/participants/{participant}/mute",
    status_code=204,
    summary="Mute a participant's microphone (moderators)",
)
async def mute_participant(
    conference_id: ConferenceId, participant: str, request: Request, user: User = Depends(current_user)
) -> None:
    await _moderate(request, conference_id, participant, "mute", user)


@router.delete(
    "/conferences/{conference_id}/participants/{participant}",
    status_code=204,
    summary="Remove a participant from the conference (moderators)",
)
async def remove_participant(
    conference_id: ConferenceId, participant: str, request: Request, user: User = Depends(current_user)
) -> None:
    await _moderate(request, conference_id, participant, "remove", user)
