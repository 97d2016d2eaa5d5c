"""The call history: ``GET /api/v1/history`` (pages of calls with their participants), one call, and the CSV export.

Users see the calls they took part in; administrators see all and filter them (docs/call-history.md). A call one
may not see answers 404, as one that does not exist. The CSV is streamed, read from the store in keyset pages.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from veche.base.call_history import CallHistory
from veche.domain.call_history import CallEntry, CallParticipant, ClientKind, HistoryFilter
from veche.domain.model import User
from veche.web.api.params import MAX_ID
from veche.web.security import current_user

__all__ = ["router"]

router = APIRouter(tags=["history"])

CSV_COLUMNS = (
    "call_id",
    "conference_id",
    "conference_name",
    "call_started_at",
    "call_ended_at",
    "user_id",
    "display_name",
    "guest",
    "kind",
    "user_agent",
    "server_id",
    "joined_at",
    "left_at",
    "duration_s",
    "closed_by",
    "bitrate_in_bps",
    "bitrate_out_bps",
    "loss_in",
    "loss_out",
    "bytes_in",
    "bytes_out",
)
# A spreadsheet runs a cell starting with one of these as a formula: such text is exported with a leading quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class QualityOut(BaseModel):
    """What the media engine measured, as seen from the server: ``in`` is what the participant sent, ``out`` what
    he received. Zero when the engine does not count (see docs/call-history.md)."""

    bitrate_in_bps: int
    bitrate_out_bps: int
    loss_in: float = Field(description="Fraction of the packets he sent that were lost, 0..1")
    loss_out: float = Field(description="Fraction of the packets sent to him that were lost, 0..1")
    bytes_in: int
    bytes_out: int


class CallParticipantOut(BaseModel):
    user_id: int | None = Field(description="The user's id; null for a guest")
    display_name: str
    guest: bool
    kind: str = Field(description="browser | api | sip | stream | recorder | remote_leg")
    user_agent: str | None = Field(description="The client's User-Agent (administrators only)")
    server_id: str = Field(description="The app server he was connected to")
    joined_at: datetime
    left_at: datetime | None = Field(description="Null while he is still in the call")
    duration_s: float
    closed_by: str = Field(description='"app", or "server_down"/"server_restart" when base closed it; "" while open')
    quality: QualityOut


class CallOut(BaseModel):
    id: int
    conference_id: int
    conference_name: str
    started_at: datetime
    ended_at: datetime | None = Field(description="Null while the call runs")
    duration_s: float
    participants: list[CallParticipantOut]


Since = Annotated[datetime | None, Query(description="Calls running at or after this instant (ISO 8601)")]
Until = Annotated[datetime | None, Query(description="Calls started before this instant (ISO 8601)")]
UserFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Calls this user took part in")]
ConferenceFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Calls of this conference")]
ServerFilter = Annotated[
    str | None, Query(min_length=1, max_length=100, description="Calls with a participant through this server")
]
KindFilter = Annotated[ClientKind | None, Query(description="Calls with a participant from this kind of client")]
Mine = Annotated[bool, Query(description="Only the calls I took part in (what a user who is no admin always sees)")]


def _history(request: Request) -> CallHistory:
    history: CallHistory = request.app.state.container.get_call_history_view()
    return history


def _query(
    since: Since = None,
    until: Until = None,
    user_id: UserFilter = None,
    conference_id: ConferenceFilter = None,
    server_id: ServerFilter = None,
    kind: KindFilter = None,
) -> HistoryFilter:
    return HistoryFilter(
        since=_utc(since),
        until=_utc(until),
        user_id=user_id,
        conference_id=conference_id,
        server_id=server_id,
        kind=kind,
    )


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)  # an instant without an offset is UTC


@router.get(
    "/history",
    response_model=list[CallOut],
    summary="Calls I took part in (administrators: all calls, filtered), newest first, paged; X-Total-Count: how many",
)
async def list_history(
    request: Request,
    response: Response,
    user: User = Depends(current_user),
    query: HistoryFilter = Depends(_query),
    mine: Mine = False,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_ID),
) -> list[CallOut]:
    page = await _history(request).page(user, query, mine=mine, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(page.total)
    now_ms = _now_ms()
    return [_call_out(call, admin=user.is_admin, now_ms=now_ms) for call in page.calls]


@router.get(
    "/history.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per participant of each call"}},
    summary="The same calls as GET /history, one CSV row per participant, all of them (streamed)",
)
async def export_history(
    request: Request,
    user: User = Depends(current_user),
    query: HistoryFilter = Depends(_query),
    mine: Mine = False,
) -> StreamingResponse:
    rows = _history(request).rows(user, query, mine=mine)  # checks the filters before the answer starts
    return StreamingResponse(
        _csv_lines(rows, admin=user.is_admin),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="call-history.csv"'},
    )


@router.get("/history/{call_id}", response_model=CallOut, summary="One call of my history (administrators: any)")
async def get_history_call(
    request: Request,
    call_id: Annotated[int, Path(ge=1, le=MAX_ID, description="A call's id")],
    user: User = Depends(current_user),
) -> CallOut:
    call = await _history(request).call(user, call_id)
    return _call_out(call, admin=user.is_admin, now_ms=_now_ms())


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _at(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def _participant_out(p: CallParticipant, *, admin: bool, now_ms: int) -> CallParticipantOut:
    seconds = p.duration_ms(now_ms) / 1000
    bitrate_in, bitrate_out = p.media.bitrates_bps(seconds)
    loss_in, loss_out = p.media.loss()
    return CallParticipantOut(
        user_id=p.user_id,
        display_name=p.display_name,
        guest=p.guest,
        kind=p.kind,
        user_agent=p.user_agent if admin else None,
        server_id=p.server_id,
        joined_at=datetime.fromtimestamp(p.joined_at_ms / 1000, UTC),
        left_at=_at(p.left_at_ms),
        duration_s=round(seconds, 3),
        closed_by=p.closed_by,
        quality=QualityOut(
            bitrate_in_bps=bitrate_in,
            bitrate_out_bps=bitrate_out,
            loss_in=loss_in,
            loss_out=loss_out,
            bytes_in=p.media.bytes_in,
            bytes_out=p.media.bytes_out,
        ),
    )


def _call_out(call: CallEntry, *, admin: bool, now_ms: int) -> CallOut:
    end = call.ended_at_ms if call.ended_at_ms is not None else now_ms
    return CallOut(
        id=call.id,
        conference_id=call.conference_id,
        conference_name=call.conference_name,
        started_at=datetime.fromtimestamp(call.started_at_ms / 1000, UTC),
        ended_at=_at(call.ended_at_ms),
        duration_s=round(max(0, end - call.started_at_ms) / 1000, 3),
        participants=[_participant_out(p, admin=admin, now_ms=now_ms) for p in call.participants],
    )


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


async def _csv_lines(rows: AsyncIterator[tuple[CallEntry, CallParticipant]], *, admin: bool) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    now_ms = _now_ms()
    async for call, participant in rows:
        p = _participant_out(participant, admin=admin, now_ms=now_ms)
        writer.writerow(
            _cell(v)
            for v in (
                call.id,
                call.conference_id,
                call.conference_name,
                _iso(_at(call.started_at_ms)),
                _iso(_at(call.ended_at_ms)),
                p.user_id,
                p.display_name,
                p.guest,
                p.kind,
                p.user_agent,
                p.server_id,
                _iso(p.joined_at),
                _iso(p.left_at),
                p.duration_s,
                p.closed_by,
                p.quality.bitrate_in_bps,
                p.quality.bitrate_out_bps,
                p.quality.loss_in,
                p.quality.loss_out,
                p.quality.bytes_in,
                p.quality.bytes_out,
            )
        )
        if buffer.tell() >= 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat().replace("+00:00", "Z")
