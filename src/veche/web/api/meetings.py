"""Scheduled meetings: schedule, list (and the calendar's occurrences), change, cancel (the series or one
occurrence), answer, start early. docs/meetings.md (the caller's feed and profile: web/api/account.py).

Only the organiser (or an administrator) changes a meeting; its invitees see it; anyone else gets 404, exactly as
for a meeting that does not exist."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from veche.base.meetings import MeetingPatch, MeetingService, MeetingSpec, OccurrencePatch
from veche.domain.errors import InvalidInput
from veche.domain.meeting_window import JoinWindow
from veche.domain.meetings import MAX_DURATION_MINUTES, Answer, Invitee, Meeting, Occurrence, check_moment
from veche.domain.model import User
from veche.web.api.params import MAX_ID, Id
from veche.web.security import current_user

__all__ = ["MeetingIn", "MeetingOut", "MeetingPatchIn", "router"]

router = APIRouter(tags=["meetings"])

# What the meeting service refuses beyond the schemas: a bad time, rule or invitee (400); a change by an invitee,
# a join before it opens (403).
REFUSALS: dict[int | str, dict[str, object]] = {
    400: {"description": "Invalid input: the message says which value and why"},
    403: {"description": "Only the organiser may do this"},
}

MeetingId = Annotated[int, Path(ge=1, le=MAX_ID, description="A meeting's id")]
RecurrenceId = Annotated[
    str, Path(max_length=40, description="The occurrence's original start, ISO 8601 (e.g. 2027-01-15T09:00:00Z)")
]
AnswerValue = Literal["accepted", "declined", "tentative"]
Email = Annotated[str, Field(min_length=3, max_length=320)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class MeetingIn(_In):
    title: str = Field(min_length=1, max_length=256)
    starts_at: datetime = Field(description="ISO 8601 with a UTC offset", json_schema_extra={"format": "date-time"})
    duration_minutes: int = Field(ge=5, le=MAX_DURATION_MINUTES)
    time_zone: str = Field(min_length=1, max_length=64, description="IANA, e.g. Europe/Berlin")
    recurrence: str | None = Field(default=None, max_length=512, description="An RRULE, e.g. FREQ=WEEKLY;BYDAY=MO")
    exceptions: list[datetime] = Field(default_factory=list, max_length=200, description="Occurrences left out")
    invite_users: list[Id] = Field(default_factory=list, max_length=1000)
    invite_emails: list[Email] = Field(default_factory=list, max_length=1000)
    invite_groups: list[Id] = Field(default_factory=list, max_length=50, description="Directory group ids")
    guests_allowed: bool = False
    moderated: bool = False
    pin: str | None = Field(default=None, max_length=12)

    model_config = ConfigDict(extra="forbid", strict=False)  # datetimes come as strings


class MeetingPatchIn(_In):
    """A field left out stays as it is; ``recurrence: null`` makes it a single meeting, ``pin: null`` removes it."""

    model_config = ConfigDict(extra="forbid", strict=False)
    title: str | None = Field(default=None, min_length=1, max_length=256)
    starts_at: datetime | None = None
    duration_minutes: int | None = Field(default=None, ge=5, le=MAX_DURATION_MINUTES)
    time_zone: str | None = Field(default=None, min_length=1, max_length=64)
    recurrence: str | None = Field(default=None, max_length=512)
    invite_users: list[Id] | None = Field(default=None, max_length=1000)
    invite_emails: list[Email] | None = Field(default=None, max_length=1000)
    invite_groups: list[Id] | None = Field(default=None, max_length=50)
    guests_allowed: bool | None = None
    moderated: bool | None = None
    pin: str | None = Field(default=None, max_length=12)


class OccurrencePatchIn(_In):
    model_config = ConfigDict(extra="forbid", strict=False)
    starts_at: datetime | None = None
    duration_minutes: int | None = Field(default=None, ge=5, le=MAX_DURATION_MINUTES)


class AnswerIn(_In):
    answer: AnswerValue


class InviteeOut(BaseModel):
    id: int
    user_id: int | None
    email: str
    display_name: str
    answer: str
    group: str

    @classmethod
    def of(cls, invitee: Invitee) -> InviteeOut:
        return cls(
            id=invitee.id,
            user_id=invitee.user_id,
            email=invitee.email,
            display_name=invitee.display_name,
            answer=invitee.answer.value,
            group=invitee.group,
        )


class OccurrenceOut(BaseModel):
    recurrence_id: datetime
    starts_at: datetime
    ends_at: datetime
    changed: bool

    @classmethod
    def of(cls, occurrence: Occurrence) -> OccurrenceOut:
        return cls(
            recurrence_id=occurrence.recurrence_id,
            starts_at=occurrence.starts_at,
            ends_at=occurrence.ends_at,
            changed=occurrence.changed,
        )


class ChangeOut(BaseModel):
    recurrence_id: datetime
    cancelled: bool
    starts_at: datetime | None
    duration_minutes: int | None


class MeetingOut(BaseModel):
    id: int
    uid: str
    title: str
    starts_at: datetime
    duration_minutes: int
    time_zone: str
    recurrence: str | None
    sequence: int
    guests_allowed: bool
    moderated: bool
    pin: str | None
    owner_id: int
    is_owner: bool
    my_answer: str | None = Field(description="The caller's answer; null for the organiser")
    conference_id: int
    join_path: str = Field(description="The conference page users join at")
    guest_link: str | None = Field(description="The guest link (organiser only, when guests are allowed)")
    open_for_joining: bool
    opens_at: datetime | None
    invitees: list[InviteeOut]
    changes: list[ChangeOut]
    occurrences: list[OccurrenceOut] = Field(
        description="In the requested range (GET /meetings?from=&to=), else the next one (if any)"
    )


def _out(
    request: Request, meeting: Meeting, user: User, occurrences: list[Occurrence], window: JoinWindow
) -> MeetingOut:
    service: MeetingService = request.app.state.container.get_meetings()
    mail = request.app.state.container.get_meeting_mail()
    mine = meeting.invitee_of(user.id)
    is_owner = meeting.owner_id == user.id
    return MeetingOut(
        id=meeting.id,
        uid=meeting.uid,
        title=meeting.title,
        starts_at=meeting.starts_at,
        duration_minutes=meeting.duration_minutes,
        time_zone=meeting.time_zone,
        recurrence=meeting.recurrence,
        sequence=meeting.sequence,
        guests_allowed=meeting.guests_allowed,
        moderated=meeting.moderated,
        pin=meeting.pin,
        owner_id=meeting.owner_id,
        is_owner=is_owner,
        my_answer=mine.answer.value if mine else None,
        conference_id=meeting.conference_id,
        join_path=f"/c/{meeting.conference_slug}",
        guest_link=(
            mail.join_url(meeting, Invitee(0, None, "", ""))
            if (is_owner or user.is_admin) and meeting.guests_allowed
            else None
        ),
        open_for_joining=window.open,
        opens_at=window.opens_at,
        invitees=[InviteeOut.of(i) for i in meeting.invitees],
        changes=[
            ChangeOut(
                recurrence_id=c.recurrence_id,
                cancelled=c.cancelled,
                starts_at=c.starts_at,
                duration_minutes=c.duration_minutes,
            )
            for c in meeting.changes
        ],
        occurrences=[OccurrenceOut.of(o) for o in occurrences] if occurrences else _next(service, meeting),
    )


def _next(service: MeetingService, meeting: Meeting) -> list[OccurrenceOut]:
    found = service.next_occurrence(meeting)
    return [OccurrenceOut.of(found)] if found is not None else []


async def _one(request: Request, meeting: Meeting, user: User) -> MeetingOut:
    window = await request.app.state.container.get_meetings().window_of(meeting)
    return _out(request, meeting, user, [], window)


def _recurrence_id(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace(" ", "+"))
    except ValueError as e:
        raise InvalidInput(f"“{text}” is not an ISO 8601 time (e.g. 2027-01-15T09:00:00Z).") from e
    return check_moment(moment, "The occurrence")


@router.post(
    "/meetings",
    response_model=MeetingOut,
    status_code=201,
    summary="Schedule a meeting and invite people",
    responses=REFUSALS,
)
async def create_meeting(body: MeetingIn, request: Request, user: User = Depends(current_user)) -> MeetingOut:
    spec = MeetingSpec(
        title=body.title,
        starts_at=body.starts_at,
        duration_minutes=body.duration_minutes,
        time_zone=body.time_zone,
        recurrence=body.recurrence,
        exceptions=tuple(body.exceptions),
        invite_users=tuple(body.invite_users),
        invite_emails=tuple(body.invite_emails),
        invite_groups=tuple(body.invite_groups),
        guests_allowed=body.guests_allowed,
        moderated=body.moderated,
        pin=body.pin,
    )
    meeting = await request.app.state.container.get_meetings().create(user, spec)
    return await _one(request, meeting, user)


@router.get(
    "/meetings",
    response_model=list[MeetingOut],
    summary="My meetings (owned or invited); with from/to: those with occurrences then, and those occurrences",
    responses=REFUSALS,
)
async def list_meetings(
    request: Request,
    response: Response,
    user: User = Depends(current_user),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=MAX_ID),
    from_: datetime | None = Query(None, alias="from", description="Range start (ISO 8601 with offset)"),
    to: datetime | None = Query(None, description="Range end, at most 62 days after from"),
) -> list[MeetingOut]:
    service = request.app.state.container.get_meetings()
    if from_ is None and to is None:
        page = await service.mine(user, limit=limit, offset=offset)
        response.headers["X-Total-Count"] = str(page.total)
        return [await _one(request, m, user) for m in page.meetings]
    if from_ is None or to is None:
        raise InvalidInput("Give both `from` and `to` for a range, or neither.")
    scheduled = await service.calendar(user, from_, to)
    by_meeting: dict[int, tuple[Meeting, list[Occurrence]]] = {}
    for item in scheduled:
        by_meeting.setdefault(item.meeting.id, (item.meeting, []))[1].append(item.occurrence)
    response.headers["X-Total-Count"] = str(len(by_meeting))
    out = []
    for meeting, occurrences in by_meeting.values():
        out.append(_out(request, meeting, user, occurrences, await service.window_of(meeting)))
    return out


@router.get("/meetings/groups", summary="Directory groups to invite, by name", responses=REFUSALS)
async def search_groups(
    request: Request,
    _user: User = Depends(current_user),
    q: str = Query("", max_length=128),
    limit: int = Query(20, ge=1, le=100),
) -> list[dict[str, object]]:
    found = await request.app.state.container.get_meetings().search_groups(q, limit=limit)
    return [{"id": group_id, "name": name} for group_id, name in found]


@router.get(
    "/meetings/{meeting_id}",
    response_model=MeetingOut,
    summary="One meeting (organiser and invitees)",
    responses=REFUSALS,
)
async def get_meeting(meeting_id: MeetingId, request: Request, user: User = Depends(current_user)) -> MeetingOut:
    meeting = await request.app.state.container.get_meetings().get_visible(meeting_id, user)
    return await _one(request, meeting, user)


@router.patch(
    "/meetings/{meeting_id}",
    response_model=MeetingOut,
    summary="Change a meeting (organiser): invitees get an update (same UID, higher SEQUENCE)",
    responses=REFUSALS,
)
async def update_meeting(
    meeting_id: MeetingId, body: MeetingPatchIn, request: Request, user: User = Depends(current_user)
) -> MeetingOut:
    sent = body.model_fields_set
    patch = MeetingPatch(
        title=body.title,
        starts_at=body.starts_at,
        duration_minutes=body.duration_minutes,
        time_zone=body.time_zone,
        recurrence=body.recurrence,
        clear_recurrence="recurrence" in sent and body.recurrence is None,
        invite_users=tuple(body.invite_users) if body.invite_users is not None else None,
        invite_emails=tuple(body.invite_emails) if body.invite_emails is not None else None,
        invite_groups=tuple(body.invite_groups) if body.invite_groups is not None else None,
        guests_allowed=body.guests_allowed,
        moderated=body.moderated,
        pin=body.pin,
        clear_pin="pin" in sent and body.pin is None,
    )
    meeting = await request.app.state.container.get_meetings().update(user, meeting_id, patch)
    return await _one(request, meeting, user)


@router.delete(
    "/meetings/{meeting_id}",
    status_code=204,
    summary="Cancel a meeting (organiser): invitees get METHOD:CANCEL",
    responses=REFUSALS,
)
async def delete_meeting(meeting_id: MeetingId, request: Request, user: User = Depends(current_user)) -> None:
    await request.app.state.container.get_meetings().delete(user, meeting_id)


@router.patch(
    "/meetings/{meeting_id}/occurrences/{recurrence_id}",
    response_model=MeetingOut,
    summary="Move or lengthen one occurrence alone (organiser)",
    responses=REFUSALS,
)
async def change_occurrence(
    meeting_id: MeetingId,
    recurrence_id: RecurrenceId,
    body: OccurrencePatchIn,
    request: Request,
    user: User = Depends(current_user),
) -> MeetingOut:
    patch = OccurrencePatch(starts_at=body.starts_at, duration_minutes=body.duration_minutes)
    service = request.app.state.container.get_meetings()
    meeting = await service.change_occurrence(user, meeting_id, _recurrence_id(recurrence_id), patch)
    return await _one(request, meeting, user)


@router.delete(
    "/meetings/{meeting_id}/occurrences/{recurrence_id}",
    response_model=MeetingOut,
    summary="Cancel one occurrence alone (organiser); the series stays",
    responses=REFUSALS,
)
async def cancel_occurrence(
    meeting_id: MeetingId, recurrence_id: RecurrenceId, request: Request, user: User = Depends(current_user)
) -> MeetingOut:
    service = request.app.state.container.get_meetings()
    meeting = await service.cancel_occurrence(user, meeting_id, _recurrence_id(recurrence_id))
    return await _one(request, meeting, user)


@router.post(
    "/meetings/{meeting_id}/answer",
    response_model=MeetingOut,
    summary="Accept, decline or say maybe",
    responses=REFUSALS,
)
async def answer_meeting(
    meeting_id: MeetingId, body: AnswerIn, request: Request, user: User = Depends(current_user)
) -> MeetingOut:
    meeting = await request.app.state.container.get_meetings().answer(user, meeting_id, Answer(body.answer))
    return await _one(request, meeting, user)


@router.post(
    "/meetings/{meeting_id}/start",
    response_model=MeetingOut,
    summary="Open the meeting for joining now (organiser)",
    responses=REFUSALS,
)
async def start_meeting(meeting_id: MeetingId, request: Request, user: User = Depends(current_user)) -> MeetingOut:
    meeting = await request.app.state.container.get_meetings().start_early(user, meeting_id)
    return await _one(request, meeting, user)


@router.post(
    "/meetings/answers/{token}",
    summary="Answer by the signed link of an invitation mail (no login needed)",
    responses=REFUSALS,
)
async def answer_by_link(
    token: Annotated[str, Path(max_length=80)], body: AnswerIn, request: Request
) -> dict[str, str]:
    meeting, invitee = await request.app.state.container.get_meetings().answer_by_token(token, Answer(body.answer))
    return {"meeting": meeting.title, "invitee": invitee.display_name, "answer": body.answer}
