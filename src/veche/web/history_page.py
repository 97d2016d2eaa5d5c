"""The call history pages: /history (a user's own calls) and the console's /admin/history (every call, filtered).

Both read through base/call_history.py, as GET /api/v1/history does, and link its CSV export with the same filters.
Times in the filters are UTC (the page says so); a filter that cannot be read shows the page again with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from veche.domain.call_history import CallEntry, CallParticipant, ClientKind, HistoryFilter
from veche.domain.errors import DomainError, InvalidInput
from veche.web.api.params import MAX_ID
from veche.web.console import PAGE_SIZE, admin_page_user, page_number, render_console
from veche.web.pages import _csrf, _page_user, _render, _to_login

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

KIND_LABELS = {
    "browser": "Browser",
    "api": "API client",
    "sip": "SIP endpoint",
    "stream": "Stream",
    "recorder": "Recorder",
    "remote_leg": "Other server",
}


@dataclass(frozen=True)
class HistoryLinks:
    """Paging links and the CSV link of a history page, every filter kept."""

    path: str
    params: dict[str, str]
    page: int
    total: int
    csv_params: dict[str, str]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    def _link(self, page: int) -> str:
        return f"{self.path}?{urlencode(self.params | {'page': str(page)})}"

    @property
    def previous(self) -> str | None:
        return self._link(self.page - 1) if self.page > 1 else None

    @property
    def next(self) -> str | None:
        return self._link(self.page + 1) if self.page < self.pages else None

    @property
    def csv(self) -> str:
        return "/api/v1/history.csv" + (f"?{urlencode(self.csv_params)}" if self.csv_params else "")


def _when(ms: int | None) -> str:
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _duration(ms: int) -> str:
    seconds = max(0, ms) // 1000
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _rate(bps: int) -> str:
    return f"{bps / 1_000_000:.2f} Mbit/s" if bps >= 1_000_000 else f"{bps / 1000:.0f} kbit/s"


def _call_view(call: CallEntry, now_ms: int) -> dict[str, Any]:
    end = call.ended_at_ms if call.ended_at_ms is not None else now_ms
    return {
        "id": call.id,
        "conference_name": call.conference_name,
        "conference_id": call.conference_id,
        "started": _when(call.started_at_ms),
        "ended": _when(call.ended_at_ms) if call.ended_at_ms is not None else "running",
        "duration": _duration(end - call.started_at_ms),
        "participants": [_participant_view(p, now_ms) for p in call.participants],
    }


def _participant_view(p: CallParticipant, now_ms: int) -> dict[str, Any]:
    ms = p.duration_ms(now_ms)
    rate_in, rate_out = p.media.bitrates_bps(ms / 1000)
    loss_in, loss_out = p.media.loss()
    measured = p.media.bytes_in or p.media.bytes_out
    return {
        "name": p.display_name,
        "guest": p.guest,
        "kind": KIND_LABELS.get(p.kind, p.kind),
        "server": p.server_id,
        "joined": _when(p.joined_at_ms),
        "left": _when(p.left_at_ms) if p.left_at_ms is not None else "still in the call",
        "duration": _duration(ms),
        "closed_by_server": p.closed_by in ("server_down", "server_restart"),
        "quality": (
            f"in {_rate(rate_in)}, {loss_in:.1%} lost · out {_rate(rate_out)}, {loss_out:.1%} lost"
            if measured
            else "not measured"
        ),
    }


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


@router.get("/history")
async def own_history_page(request: Request, page: str = "1") -> Response:
    found = await _page_user(request)
    if not found:
        return _to_login(request)
    user, token = found
    number = page_number(page)
    history = request.app.state.container.get_call_history_view()
    calls = await history.page(user, HistoryFilter(), mine=True, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    now_ms = _now_ms()
    return _render(
        request,
        "history.html",
        user=user,
        csrf=_csrf(request, token),
        calls=[_call_view(c, now_ms) for c in calls.calls],
        links=HistoryLinks("/history", {}, number, calls.total, {"mine": "true"}),
    )


def _instant(raw: str, name: str) -> datetime | None:
    text = raw.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"“{name}” must be a date and time such as 2026-12-01T09:00.") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _number(raw: str, name: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise InvalidInput(f"“{name}” must be a positive whole number.")
    return int(text)


def _client_kind(raw: str) -> ClientKind | None:
    if not raw:
        return None
    try:
        return ClientKind(raw)
    except ValueError:
        raise InvalidInput("Choose the kind of client from the list.") from None


@router.get("/admin/history")
async def admin_history_page(
    request: Request,
    since: str = "",
    until: str = "",
    user: str = "",
    conference: str = "",
    server: str = "",
    kind: str = "",
    page: str = "1",
) -> Response:
    found = await admin_page_user(request)
    if isinstance(found, Response):
        return found
    admin, token = found
    typed = {"since": since, "until": until, "user": user, "conference": conference, "server": server, "kind": kind}
    typed = {key: value.strip()[:128] for key, value in typed.items()}
    number = page_number(page)
    container = request.app.state.container
    error = None
    calls: list[dict[str, Any]] = []
    total = 0
    csv_params: dict[str, str] = {}
    try:
        user_id = None
        if typed["user"]:
            known = await container.get_user_store().by_login(typed["user"].lower())
            if known is None:
                raise InvalidInput(f"Unknown user “{typed['user']}”.")
            user_id = known[0].id
        query = HistoryFilter(
            since=_instant(typed["since"], "From"),
            until=_instant(typed["until"], "To"),
            user_id=user_id,
            conference_id=_number(typed["conference"], "Conference id"),
            server_id=typed["server"] or None,
            kind=_client_kind(typed["kind"]),
        )
        found_calls = await container.get_call_history_view().page(
            admin, query, mine=False, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
        )
        now_ms = _now_ms()
        calls = [_call_view(c, now_ms) for c in found_calls.calls]
        total = found_calls.total
        csv_params = _api_params(query)
    except DomainError as e:
        error = e.message
    kept = {key: value for key, value in typed.items() if value}
    return render_console(
        request,
        "admin_history.html",
        admin,
        token,
        "history",
        400 if error else 200,
        calls=calls,
        links=HistoryLinks("/admin/history", kept, number, total, csv_params),
        form=typed,
        kinds=KIND_LABELS,
        error=error,
    )


def _api_params(query: HistoryFilter) -> dict[str, str]:
    """The filters as GET /api/v1/history.csv takes them."""
    params: dict[str, str] = {}
    if query.since is not None:
        params["since"] = query.since.isoformat()
    if query.until is not None:
        params["until"] = query.until.isoformat()
    if query.user_id is not None:
        params["user_id"] = str(query.user_id)
    if query.conference_id is not None:
        params["conference_id"] = str(query.conference_id)
    if query.server_id is not None:
        params["server_id"] = query.server_id
    if query.kind is not None:
        params["kind"] = query.kind.value
    return params
