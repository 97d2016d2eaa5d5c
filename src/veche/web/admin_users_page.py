"""The console's Users page: the list paged and searched in the database, a new-user form, and each user's page
(edit, disable and enable, reset the password, delete). Forms that fail show the page again with what was typed
and the reason; the work is done by base/auth.py (creating) and base/user_admin.py (the rest)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from veche.base.user_admin import UserChanges
from veche.domain.errors import DomainError, NotFound
from veche.domain.model import User
from veche.web.api.params import MAX_ID
from veche.web.console import PAGE_SIZE, Pager, admin_form_user, admin_page_user, page_number, render_console

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

# What a redirect after a form may say (a fixed set: a link cannot make the console say something else).
NOTICES = {
    "created": "User {login} created.",
    "saved": "Changes to {login} saved.",
    "disabled": "{login} is disabled: his sign-ins and calls ended.",
    "enabled": "{login} is enabled again.",
    "password": "The password of {login} is set; his other sign-ins ended.",
    "deleted": "The account was deleted.",
}


def _notice(key: str | None, login: str = "") -> str | None:
    return NOTICES[key].format(login=login) if key in NOTICES else None


@router.get("/admin/users")
async def users_page(request: Request, q: str = "", page: str = "1", notice: str | None = None) -> Response:
    found = await admin_page_user(request)
    if isinstance(found, Response):
        return found
    login = request.query_params.get("login", "")
    if notice == "created" and not await request.app.state.container.get_user_store().by_login(login[:128]):
        notice = None  # only about an account that exists
    return await _list(request, *found, query=q, page=page, notice=_notice(notice, login))


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
    query = query.strip()[:128]
    number = page_number(page)
    found = await request.app.state.container.get_user_admin().page(
        query=query, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    pager = Pager(page=number, total=found.total, query=query, path="/admin/users")
    return render_console(
        request,
        "admin_users.html",
        user,
        token,
        "users",
        400 if error else 200,
        users=found.users,
        pager=pager,
        what="users",
        error=error,
        notice=notice,
        form=form or {"login": "", "display_name": "", "email": "", "is_admin": False},
    )


@router.post("/admin/users")
async def create_user(
    request: Request,
    login: str = Form(""),
    display_name: str = Form(""),
    email: str = Form(""),
    password: str = Form(""),
    is_admin: bool = Form(False),
    csrf_token: str = Form(""),
) -> Response:
    found = await admin_form_user(request, csrf_token)
    if isinstance(found, Response):
        return found
    try:
        created = await request.app.state.container.get_auth().create_user(
            login=login.strip(), display_name=display_name, email=email.strip(), password=password, is_admin=is_admin
        )
    except DomainError as e:
        typed = {"login": login, "display_name": display_name, "email": email, "is_admin": is_admin}
        return await _list(request, *found, error=e.message, form=typed)
    return RedirectResponse(f"/admin/users?notice=created&login={created.login}", status_code=303)


@router.get("/admin/users/{user_id}")
async def user_page(request: Request, user_id: int, notice: str | None = None) -> Response:
    found = await admin_page_user(request)
    if isinstance(found, Response):
        return found
    return await _one(request, *found, user_id=user_id, notice=notice)


async def _one(
    request: Request,
    user: User,
    token: str,
    *,
    user_id: int,
    notice: str | None = None,
    error: str | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    record = None
    if 1 <= user_id <= MAX_ID:
        try:
            record = await request.app.state.container.get_user_admin().record(user_id)
        except NotFound:
            pass
    if record is None:
        return render_console(
            request,
            "message.html",
            user,
            token,
            "users",
            404,
            title="No such user",
            message="This user does not exist (he may have been deleted).",
        )
    target = record.user
    return render_console(
        request,
        "admin_user.html",
        user,
        token,
        "users",
        400 if error else 200,
        target=target,
        source=record.source,
        has_password=record.has_password,
        error=error,
        notice=_notice(notice, target.login),
        form=form or {"display_name": target.display_name, "email": target.email, "is_admin": target.is_admin},
    )


async def _change(request: Request, user_id: int, csrf_token: str, changes: UserChanges, done: str) -> Response:
    found = await admin_form_user(request, csrf_token)
    if isinstance(found, Response):
        return found
    try:
        await request.app.state.container.get_user_admin().update(found[0], user_id, changes)
    except DomainError as e:
        typed = None
        if changes.display_name is not None:
            typed = {"display_name": changes.display_name, "email": changes.email, "is_admin": changes.is_admin}
        return await _one(request, *found, user_id=user_id, error=e.message, form=typed)
    return RedirectResponse(f"/admin/users/{user_id}?notice={done}", status_code=303)


@router.post("/admin/users/{user_id}")
async def edit_user(
    request: Request,
    user_id: int,
    display_name: str = Form(""),
    email: str = Form(""),
    is_admin: bool = Form(False),
    csrf_token: str = Form(""),
) -> Response:
    changes = UserChanges(display_name=display_name, email=email, is_admin=is_admin)
    return await _change(request, user_id, csrf_token, changes, "saved")


@router.post("/admin/users/{user_id}/disable")
async def disable_user(request: Request, user_id: int, csrf_token: str = Form("")) -> Response:
    return await _change(request, user_id, csrf_token, UserChanges(disabled=True), "disabled")


@router.post("/admin/users/{user_id}/enable")
async def enable_user(request: Request, user_id: int, csrf_token: str = Form("")) -> Response:
    return await _change(request, user_id, csrf_token, UserChanges(disabled=False), "enabled")


@router.post("/admin/users/{user_id}/password")
async def reset_password(
    request: Request, user_id: int, password: str = Form(""), csrf_token: str = Form("")
) -> Response:
    found = await admin_form_user(request, csrf_token)
    if isinstance(found, Response):
        return found
    try:
        await request.app.state.container.get_user_admin().reset_password(found[0], user_id, password)
    except DomainError as e:
        return await _one(request, *found, user_id=user_id, error=e.message)
    return RedirectResponse(f"/admin/users/{user_id}?notice=password", status_code=303)


@router.post("/admin/users/{user_id}/delete")
async def delete_user(
    request: Request, user_id: int, confirm: bool = Form(False), csrf_token: str = Form("")
) -> Response:
    found = await admin_form_user(request, csrf_token)
    if isinstance(found, Response):
        return found
    try:
        if not confirm:
            raise DomainError("Tick “Yes, delete” to delete the account.")
        await request.app.state.container.get_user_admin().delete(found[0], user_id)
    except DomainError as e:
        return await _one(request, *found, user_id=user_id, error=e.message)
    return RedirectResponse("/admin/users?notice=deleted", status_code=303)
