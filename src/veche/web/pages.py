"""Server-rendered pages: login, home, admin console, and the shells of the conference client."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from veche.base.conferences import NewConference
from veche.domain.errors import DomainError, Forbidden, InvalidInput, NotFound
from veche.domain.model import ConferenceType, User
from veche.web.api.auth import client_address
from veche.web.security import SESSION_COOKIE, csrf_token_for, secure_request
from veche.web.sign_out import sign_out

__all__ = ["router"]

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "veche_login_csrf"


async def _page_user(request: Request) -> tuple[User, str] | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    user = await request.app.state.container.get_auth().authenticate(token)
    return (user, token) if user else None


def _csrf(request: Request, token: str) -> str:
    return csrf_token_for(token, request.app.state.container.get_secret_key())


def _check_form_csrf(request: Request, token: str, sent: str) -> None:
    if not hmac.compare_digest(sent, _csrf(request, token)):
        raise Forbidden("The form expired (CSRF check failed). Reload the page and try again.")


def public_base_url(request: Request) -> str:
    """The address people reach Veche at (``http.public_url``, else this request's), without a trailing slash."""
    configured = request.app.state.container.settings.http.public_url
    return str(configured or request.base_url).rstrip("/")


def _render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context, status_code=status)


def _to_login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    nonce = secrets.token_urlsafe(16)
    response = _render(request, "login.html", next=_safe_next(next), csrf=nonce, error=None)
    response.set_cookie(LOGIN_CSRF_COOKIE, nonce, httponly=True, samesite="strict", secure=secure_request(request))
    return response


def _safe_next(target: str) -> str:
    # Only local paths: never redirect to another site after login.
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login")
async def login_submit(
    request: Request,
    login: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/"),
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _render(
            request,
            "login.html",
            403,
            next=_safe_next(next),
            csrf=expected,
            error="The form expired. Try again.",
        )
    auth = request.app.state.container.get_auth()
    try:
        result = await auth.login(login, password, client=client_address(request), kind="cookie")
    except DomainError as e:
        return _render(request, "login.html", 401, next=_safe_next(next), csrf=expected, error=e.message, login=login)
    response = RedirectResponse(_safe_next(next), status_code=303)
    ttl = request.app.state.container.settings.security.session_ttl_hours * 3600
    response.set_cookie(
        SESSION_COOKIE, result.token, max_age=ttl, httponly=True, samesite="lax", secure=secure_request(request)
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, csrf_token: str = Form("")) -> Response:
    found = await _page_user(request)
    if found:
        _check_form_csrf(request, found[1], csrf_token)
        await sign_out(request.app.state.container, found[0], found[1])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
async def home(request: Request, created: str = "") -> Response:
    found = await _page_user(request)
    if not found:
        return _to_login(request)
    return await _home(request, *found, created=created)


# The home page lists the newest conferences a user may see; the rest are counted (the address book finds people).
HOME_LIST = 100


async def _home(
    request: Request, user: User, token: str, *, created: str = "", error: str | None = None, form: Any = None
) -> Response:
    # Ad hoc calls are reached from the address book and the ring, not listed among the meetings.
    page = await request.app.state.container.get_conferences().list_visible(user, calls=False, limit=HOME_LIST)
    conferences = page.conferences
    new = next((c for c in conferences if created and c.slug == created and c.owner_id == user.id), None)
    return _render(
        request,
        "home.html",
        400 if error else 200,
        user=user,
        conferences=conferences,
        more_conferences=page.total - len(conferences),
        csrf=_csrf(request, token),
        created=new,
        base_url=public_base_url(request),
        error=error,
        form=form or {"name": "", "type": "all_see_all", "guests_allowed": False},
    )


@router.post("/conferences/new")
async def home_create_conference(
    request: Request,
    name: str = Form(""),
    type: str = Form("all_see_all"),
    guests_allowed: bool = Form(False),
    csrf_token: str = Form(""),
) -> Response:
    """Any user starts a conference of his own from his home page (he owns and moderates it)."""
    found = await _page_user(request)
    if not found:
        return _to_login(request)
    user, token = found
    _check_form_csrf(request, token, csrf_token)
    try:
        kind = ConferenceType(type) if type in {t.value for t in ConferenceType} else None
        if kind is None:
            raise InvalidInput("Choose the kind of conference from the list.")
        spec = NewConference(name=name, type=kind, guests_allowed=guests_allowed)
        conference = await request.app.state.container.get_conferences().create(user, spec)
    except DomainError as e:
        typed = {"name": name, "type": type, "guests_allowed": guests_allowed}
        return await _home(request, user, token, error=e.message, form=typed)
    return RedirectResponse(f"/?created={conference.slug}", status_code=303)


@router.get("/admin/servers")
async def admin_servers(request: Request) -> Response:
    found = await _page_user(request)
    if not found:
        return _to_login(request)
    user, token = found
    if not user.is_admin:
        return _render(
            request, "message.html", 403, title="Not allowed", message="Only administrators may open the console."
        )
    settings = await request.app.state.container.get_server_admin().current_settings()
    return _render(request, "servers.html", user=user, csrf=_csrf(request, token), settings=settings, section="servers")


@router.get("/c/{slug}")
async def conference_page(slug: str, request: Request) -> Response:
    found = await _page_user(request)
    if not found:
        return _to_login(request)
    user, token = found
    try:
        if len(slug) > 32:
            raise NotFound("This conference does not exist or you may not see it.")
        conference = await request.app.state.container.get_conferences().visible_by_slug(slug, user)
    except DomainError as e:
        # The same page for a conference that does not exist and one this user may not see.
        return _render(request, "message.html", 404, title="Conference not found", message=e.message)
    name = conference.name
    # The link "Copy invite link" gives: the guests' link where guests may come, else this page's.
    invite = f"/join/{conference.invite_code}" if conference.guests_allowed else f"/c/{conference.slug}"
    return _render(
        request,
        "conference.html",
        join_url=f"/api/v1/conferences/{conference.id}/join",
        invite_url=public_base_url(request) + invite,
        csrf=_csrf(request, token),
        guest=False,
        name=name,
        number=conference.number,
        sip_address=f"sip:{conference.number}@{request.url.hostname}",
        phones_welcome=conference.guests_allowed,  # a caller by phone is a guest (docs/sip.md)
        user=user,
    )


@router.get("/join/{code}")
async def guest_page(code: str, request: Request) -> Response:
    try:
        conference = await request.app.state.container.get_conferences().by_invite(code)
    except DomainError as e:
        return _render(request, "message.html", 404, title="Invite not valid", message=e.message)
    return _render(
        request,
        "conference.html",
        join_url=f"/api/v1/invites/{code}/join",
        invite_url=f"{public_base_url(request)}/join/{code}",
        csrf="",
        guest=True,
        # A scheduled meeting with a PIN: the pre-join screen asks for it (the join checks it).
        pin_required=await request.app.state.container.get_meetings().asks_pin(conference),
        name=conference.name,
        number=conference.number,
        sip_address=f"sip:{conference.number}@{request.url.hostname}",
        phones_welcome=True,  # the guests' page: the conference takes guests
        user=None,
    )
