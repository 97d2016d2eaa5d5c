"""The address book API: search people (with presence), look one up, call him (and follow the call: ringing,
answered, declined, unanswered; cancel it), calls ringing for you (answer, decline).

Directory sources (admin) are in :mod:`veche.web.api.directory_sources`."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from veche.base.directory.address_book import Contact
from veche.base.directory.calls import CallState, IncomingCalls, OutgoingCall
from veche.domain.model import User
from veche.web.api.params import ConferenceId, Id, UserId
from veche.web.security import current_user

router = APIRouter(prefix="/directory", tags=["directory"])


class ContactOut(BaseModel):
    id: int
    login: str
    display_name: str
    email: str
    phone: str
    department: str
    title: str
    source: str | None  # the directory source, None for local users
    presence: str  # offline | online | in_conference

    @classmethod
    def of(cls, c: Contact) -> ContactOut:
        e = c.entry
        return cls(
            id=e.user_id,
            login=e.login,
            display_name=e.display_name,
            email=e.email,
            phone=e.phone,
            department=e.department,
            title=e.title,
            source=e.source,
            presence=c.presence.presence.value,
        )


class CallOut(BaseModel):
    conference_id: int
    url: str


class CallerOut(BaseModel):
    id: int
    display_name: str


class RingingCallOut(BaseModel):
    conference_id: int
    caller: CallerOut
    url: str  # the conference page: open it to answer
    expires_in_s: float  # stops ringing then


class RingingCallsOut(BaseModel):
    calls: list[RingingCallOut]


CallStateName = Literal["ringing", "answered", "declined", "unanswered", "cancelled"]


class OutgoingCallOut(BaseModel):
    conference_id: int
    callee: CallerOut
    state: CallStateName
    url: str  # the conference page: the caller opens it once the call is answered
    expires_in_s: float  # while ringing: it rings out then ("unanswered")

    @classmethod
    def of(cls, call: OutgoingCall, calls: IncomingCalls) -> OutgoingCallOut:
        ringing = call.state is CallState.RINGING
        return cls(
            conference_id=call.conference_id,
            callee=CallerOut(id=call.callee_id, display_name=call.callee_name),
            state=call.state.value,
            url=f"/c/{call.conference_slug}",
            expires_in_s=round(calls.remaining_s(call), 1) if ringing else 0.0,
        )


@router.get("/search", response_model=list[ContactOut], summary="Search the address book")
async def search(
    request: Request,
    q: str = Query(..., max_length=100, description="Part of a name, login, email, phone or department"),
    limit: int = Query(20, ge=1, le=100),
    user: User = Depends(current_user),
) -> list[ContactOut]:
    contacts = await request.app.state.container.get_address_book().search(user, q, limit=limit)
    return [ContactOut.of(c) for c in contacts]


@router.get("/contacts/{user_id}", response_model=ContactOut, summary="One contact, with presence")
async def contact(user_id: UserId, request: Request, user: User = Depends(current_user)) -> ContactOut:
    return ContactOut.of(await request.app.state.container.get_address_book().contact(user, user_id))


@router.post(
    "/contacts/{user_id}/call",
    response_model=CallOut,
    status_code=201,
    summary="Call a contact: an ad hoc conference open to the two of you",
)
async def call(user_id: UserId, request: Request, user: User = Depends(current_user)) -> CallOut:
    conference = await request.app.state.container.get_address_book().call(user, user_id)
    return CallOut(conference_id=conference.id, url=f"/c/{conference.slug}")


@router.get(
    "/calls",
    response_model=RingingCallsOut,
    summary="Calls ringing for you; with wait_s, answers when they differ from `known` (long poll)",
)
async def ringing_calls(
    request: Request,
    wait_s: float = Query(0, ge=0, le=25, description="Wait up to this long for a change (0: answer at once)"),
    known: list[Id] = Query([], description="Conference ids of the calls the page already shows"),
    user: User = Depends(current_user),
) -> RingingCallsOut:
    calls = request.app.state.container.get_incoming_calls()
    ringing = await calls.wait(user.id, known, wait_s)
    return RingingCallsOut(
        calls=[
            RingingCallOut(
                conference_id=c.conference_id,
                caller=CallerOut(id=c.caller_id, display_name=c.caller_name),
                url=f"/c/{c.conference_slug}",
                expires_in_s=round(calls.remaining_s(c), 1),
            )
            for c in ringing
        ]
    )


@router.delete("/calls/{conference_id}", status_code=204, summary="Decline a call ringing for you")
async def decline_call(conference_id: ConferenceId, request: Request, user: User = Depends(current_user)) -> None:
    await request.app.state.container.get_incoming_calls().decline(user.id, conference_id)


@router.post("/calls/{conference_id}/answer", status_code=204, summary="Answer a call ringing for you")
async def answer_call(conference_id: ConferenceId, request: Request, user: User = Depends(current_user)) -> None:
    """The callee is on his way into the call's conference: his caller's page follows him there."""
    await request.app.state.container.get_incoming_calls().answer(user.id, conference_id)


@router.get(
    "/outgoing-calls/{conference_id}",
    response_model=OutgoingCallOut,
    summary="Your call into a conference: ringing, answered, declined, unanswered or cancelled (long poll)",
)
async def outgoing_call(
    conference_id: ConferenceId,
    request: Request,
    wait_s: float = Query(0, ge=0, le=25, description="Wait up to this long for a change (0: answer at once)"),
    known: CallStateName | None = Query(None, description="The state the page shows: answer when it differs"),
    user: User = Depends(current_user),
) -> OutgoingCallOut:
    calls: IncomingCalls = request.app.state.container.get_incoming_calls()
    return OutgoingCallOut.of(await calls.wait_outgoing(user.id, conference_id, known, wait_s), calls)


@router.delete(
    "/outgoing-calls/{conference_id}",
    response_model=OutgoingCallOut,
    summary="Cancel your call: it stops ringing on the callee's pages",
)
async def cancel_call(
    conference_id: ConferenceId, request: Request, user: User = Depends(current_user)
) -> OutgoingCallOut:
    calls: IncomingCalls = request.app.state.container.get_incoming_calls()
    return OutgoingCallOut.of(await calls.cancel(user.id, conference_id), calls)


@router.post("/presence", status_code=204, summary="I am here (the web client calls this while open)")
async def heartbeat(request: Request, user: User = Depends(current_user)) -> None:
    request.app.state.container.get_presence().touch(user.id)
