"""The console's Conferences page: every conference paged and searched in the database, with its full invite
and page URLs; a new-conference form; each conference's page to edit or delete it. Forms that fail show the page
again with what was typed and the reason. The work is base/conferences.py's; deleting goes through the same path
as DELETE /api/v1/conferences/{id} (web/api/conferences.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from veche.base.conferences import ConferenceChanges, NewConference
from veche.domain.errors import DomainError, InvalidInput, NotFound
from veche.domain.model import Conference, ConferenceAccess, ConferenceType, User
from veche.web.api.conferences import base_url, delete_conference_as_admin
from veche.web.api.params import MAX_ID
from veche.web.console import PAGE_SIZE, Pager, admin_form_user, admin_page_user, page_number, render_console

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

MAX_LISTED_LOGINS = 1000
NOTICES = {
    "created": "Conference {name} created. Its invite link is below.",
    "saved": "Changes to {name} saved.",
    "deleted": "The conference was deleted.",
}
EMPTY_FORM = {
    "name": "",
    "type": "all_see_all",
    "max_participants": 50,
    "guests_allowed": False,
    "access": "open",
    "invited": "",
    "moderators": "",
}


async def user_ids(request: Request, logins: str) -> frozenset[int]:
    """The ids of comma-separated logins, each looked up by itself (never the whole user list)."""
    wanted = [x.strip().lower() for x in logins.replace(";", ",").split(",") if x.strip()]
    if len(wanted) > MAX_LISTED_LOGINS:
        raise InvalidInput(f"At most {MAX_LISTED_LOGINS} logins at once.")
    store = request.app.state.container.get_user_store()
    ids = set()
    for login in dict.fromkeys(wanted):
        found = await store.by_login(login[:128])
        if found is None:
            raise InvalidInput(f"Unknown user “{login}”.")
        ids.add(found[0].id)
    return frozenset(ids)


async def _logins(request: Request, ids: frozenset[int] | set[int]) -> dict[int, str]:
    users = await request.app.state.container.get_user_store().get_many(set(ids))
    return {u.id: u.login for u in users}


def _kind(value: str) -> ConferenceType:
    try:
        return ConferenceType(value)
    except ValueError:
        raise InvalidInput("Choose the kind of conference from the list.") from None


def _access(value: str) -> ConferenceAccess:
    try:
        return ConferenceAccess(value)
    except ValueError:
        raise InvalidInput("Choose who may join from the list.") from None


def _limit(value: str) -> int:
    if not value.strip().isdigit() or len(value.strip()) > 6:
        raise InvalidInput("The participant limit must be a whole number between 2 and 1000.")
    return int(value)


@router.get("/admin/conferences")
async def conferences_page(request: Request, q: str = "", page: str = "1", notice: str | None = None) -> Response:
    found = await admin_page_user(request)
    if isinstance(found, Response):
        return found
    return await _list(request, *found, query=q, page=page, notice=NOTICES.get(notice or ""))


async def _list(
    request: Request,
    user: User,
    token: str,
    *,
    query: str = "",
    page: str = "1",
    error: str | None = None,
    notice: str | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    query = query.strip()[:256]
    number = page_number(page)
    found = await request.app.state.container.get_conferences().page(
        query=query, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    return render_console(
        request,
        "admin_conferences.html",
        user,
        token,
        "conferences",
        400 if error else 200,
        conferences=found.conferences,
        owners=await _logins(request, {c.owner_id for c in found.conferences}),
        pager=Pager(page=number, total=found.total, query=query, path="/admin/conferences"),
        what="conferences",
        base_url=base_url(request),
        error=error,
        notice=notice,
        form=form or EMPTY_FORM,
    )


def _typed(**fields: Any) -> dict[str, Any]:
    return dict(fields)


@router.post("/admin/conferences")
async def create_conference(
    request: Request,
    name: str = Form(""),
    type: str = Form("all_see_all"),
    max_participants: str = Form("50"),
    guests_allowed: bool = Form(False),
    access: str = Form("open"),
    invited: str = Form(""),
    moderators: str = Form(""),
    csrf_token: str = Form(""),
) -> Response:
    found = await admin_form_user(request, csrf_token)
    if isinstance(found, Response):
        return found
    try:
        spec = NewConference(
            name=name,
            type=_kind(type),
            max_participants=_limit(max_participants),
            guests_allowed=guests_allowed,
            access=_access(access),
            invited=await user_ids(request, invited),
            moderators=await user_ids(request, moderators),
        )
        created = await request.app.state.container.get_conferences().create(found[0], spec)
    except DomainError as e:
        typed = _typed(
            name=name,
            type=type,
            max_participants=max_participants,
            guests_allowed=guests_allowed,
            access=access,
            invited=invited,
            moderators=moderators,
        )
        return await _list(request, *found, error=e.message, form=typed)
    return RedirectResponse(f"/admin/conferences/{created.id}?notice=created", status_code=303)


async def _stored_form(request: Request, conference: Conference) -> dict[str, Any]:
    logins = await _logins(request, conference.invited | conference.moderators)
    return _typed(
        name=conference.name,
        type=conference.type.value,
        max_participants=conference.max_participants,
        guests_allowed=conference.guests_allowed,
        access=conference.access.value,
        invited=", ".join(sorted(logins[i] for i in conference.invited if i in logins)),
        moderators=", ".join(sorted(logins[i] for i in conference.moderators if i in logins)),
    )


@router.get("/admin/conferences/{conference_id}")
async def conference_page(request: Request, conference_id: int, notice: str | None = None) -> Response:
    found = await admin_page_user(request)
    if isinstance(found, Response):
        return found
    return await _one(request, *found, conference_id=conference_id, notice=notice)


async def _one(
    request: Request,
    user: User,
    token: str,
    *,
    conference_id: int,
    notice: str | None = None,
    error: str | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    conference = None
    if 1 <= conference_id <= MAX_ID:
        try:
            conference = await request.app.state.container.get_conferences().get(conference_id)
        except NotFound:
            pass
    if conference is None:
        return render_console(
            request,
            "message.html",
            user,
            token,
            "conferences",
            404,
            title="No such conference",
            message="This conference does not exist (it may have been deleted).",
        )
    owner = (await _logins(request, {conference.owner_id})).get(conference.owner_id, "—")
    return render_console(
        request,
        "admin_conference.html",
        user,
        token,
        "conferences",
        400 if error else 200,
        conference=conference,
        owner=owner,
        base_url=base_url(request),
        error=error,
        notice=NOTICES[notice].format(name=conference.name) if notice in NOTICES else None,
        form=form or await _stored_form(request, conference),
    )


@router.post("/admin/conferences/{conference_id}")
async def edit_conference(
    request: Request,
    conference_id: int,
    name: str = Form(""),
    type: str = Form("all_see_all"),
    max_participants: str = Form("50"),
    guests_allowed: bool = Form(False),
    access: str = Form("open"),
    invited: str = Form(""),
    moderators: str = Form(""),
    csrf_token: str = Form(""),
) -> Response:
    found = await admin_form_user(request, csrf_token)
    if isinstance(found, Response):
        return found
    try:
        changes = ConferenceChanges(
            name=name,
            type=_kind(type),
            max_participants=_limit(max_participants),
            guests_allowed=guests_allowed,
            access=_access(access),
            invited=await user_ids(request, invited),
            moderators=await user_ids(request, moderators),
        )
        await request.app.state.container.get_conferences().update(conference_id, changes)
    except DomainError as e:
        typed = _typed(
            name=name,
            type=type,
            max_participants=max_participants,
            guests_allowed=guests_allowed,
            access=access,
            invited=invited,
            moderators=moderators,
        )
        return await _one(request, *found, conference_id=conference_id, error=e.message, form=typed)
    return RedirectResponse(f"/admin/conferences/{conference_id}?notice=saved", status_code=303)


@router.post("/admin/conferences/{conference_id}/delete")
async def delete_conference(
    request: Request,
    conference_id: int,
    confirm: bool = Form(False),
    force: bool = Form(False),
    csrf_token: str = Form(""),
) -> Response:
    found = await admin_form_user(request, csrf_token)
    if isinstance(found, Response):
        return found
    try:
        if not confirm:
            raise InvalidInput("Tick “Yes, delete” to delete the conference.")
        await delete_conference_as_admin(request, conference_id, force=force)
    except DomainError as e:
        return await _one(request, *found, conference_id=conference_id, error=e.message)
    return RedirectResponse("/admin/conferences?notice=deleted", status_code=303)
