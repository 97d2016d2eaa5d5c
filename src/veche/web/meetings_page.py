"""The personal pages of scheduled meetings: "My meetings" (list, week/month calendar, scheduling form), one
meeting's page (answers, Join), the answer page of a mail's signed link (no login), the private calendar feed, and
the account page (profile, notification preferences, feed URL). The pages are server-rendered shells; the
bundles ``meetings`` and ``account`` (frontend/src/meetings/, frontend/src/account/) work over the API."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from veche.domain.errors import DomainError
from veche.domain.meetings import Answer
from veche.domain.model import User
from veche.web.pages import _csrf, _page_user, _render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

ANSWER_LABELS = {Answer.ACCEPTED: "Accept", Answer.TENTATIVE: "Maybe", Answer.DECLINED: "Decline"}


async def _zone(request: Request, user: User) -> str:
    """His profile's time zone; "" until he saved one (the page then uses the browser's)."""
    profile = await request.app.state.container.get_profiles().find(user)
    return profile.time_zone if profile else ""


def _to_login(path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={path}", status_code=303)


@router.get("/meetings")
async def meetings_page(request: Request) -> Response:
    found = await _page_user(request)
    if not found:
        return _to_login("/meetings")
    user, token = found
    return _render(
        request,
        "meetings.html",
        user=user,
        csrf=_csrf(request, token),
        time_zone=await _zone(request, user),
        meeting_id="",
    )


@router.get("/meetings/feed/{name}")
async def calendar_feed(name: str, request: Request) -> Response:
    """A user's private iCalendar feed: the token in the address is the credential (resettable on /account)."""
    token = name.removesuffix(".ics")
    if not name.endswith(".ics") or not 8 <= len(token) <= 64:
        return Response("Not found.\n", status_code=404, media_type="text/plain")
    try:
        data = await request.app.state.container.get_meetings().feed(token)
    except DomainError as e:
        return Response(e.message + "\n", status_code=404, media_type="text/plain")
    return Response(
        data,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300", "Content-Disposition": 'inline; filename="veche.ics"'},
    )


@router.get("/meetings/answer/{token}")
async def answer_page(token: str, request: Request, answer: str = "") -> Response:
    """What a mail's answer link opens: the meeting and the three answers. Recording takes a click (POST), so a mail
    scanner that opens every link does not answer for the invitee."""
    try:
        meeting, invitee = await request.app.state.container.get_meetings().answer_by_token(token[:80], None)
    except DomainError as e:
        return _render(request, "message.html", 404, title="Link not valid", message=e.message, user=None)
    return _render(
        request,
        "meeting_answer.html",
        user=None,
        meeting=meeting,
        invitee=invitee.display_name,
        token=token,
        chosen=answer,
        current=invitee.answer.value,
        answers=ANSWER_LABELS,
        recorded=False,
        chosen_label="",
    )


@router.post("/meetings/answer/{token}")
async def answer_submit(token: str, request: Request, answer: str = Form("")) -> Response:
    try:
        if answer not in {a.value for a in ANSWER_LABELS}:
            raise DomainError("Choose accept, maybe or decline.")
        service = request.app.state.container.get_meetings()
        meeting, invitee = await service.answer_by_token(token[:80], Answer(answer))
    except DomainError as e:
        return _render(request, "message.html", 404, title="Link not valid", message=e.message, user=None)
    return _render(
        request,
        "meeting_answer.html",
        user=None,
        meeting=meeting,
        invitee=invitee.display_name,
        token=token,
        chosen=answer,
        current=answer,
        answers=ANSWER_LABELS,
        recorded=True,
        chosen_label=ANSWER_LABELS[Answer(answer)],
    )


@router.get("/meetings/{meeting_id}")
async def meeting_page(meeting_id: str, request: Request) -> Response:
    found = await _page_user(request)
    if not found:
        return _to_login(f"/meetings/{meeting_id[:20]}")
    user, token = found
    try:
        if not meeting_id.isdigit() or len(meeting_id) > 18:
            raise DomainError("This meeting does not exist or you may not see it.")
        await request.app.state.container.get_meetings().get_visible(int(meeting_id), user)
    except DomainError:
        message = "This meeting does not exist or you may not see it."
        return _render(request, "message.html", 404, title="Meeting not found", message=message, user=user)
    return _render(
        request,
        "meetings.html",
        user=user,
        csrf=_csrf(request, token),
        time_zone=await _zone(request, user),
        meeting_id=meeting_id,
    )


@router.get("/account")
async def account_page(request: Request) -> Response:
    found = await _page_user(request)
    if not found:
        return _to_login("/account")
    user, token = found
    return _render(request, "account.html", user=user, csrf=_csrf(request, token))
