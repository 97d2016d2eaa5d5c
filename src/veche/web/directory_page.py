"""The address book page: a server-rendered shell; search, presence and calls run in the TypeScript bundle
(frontend/src/directory/, built to static/build/directory.js) over the API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from veche.web.pages import _csrf, _page_user, _render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/directory")
async def directory_page(request: Request) -> Response:
    found = await _page_user(request)
    if not found:
        return RedirectResponse("/login?next=/directory", status_code=303)
    user, token = found
    request.app.state.container.get_presence().touch(user.id)
    return _render(request, "directory.html", user=user, csrf=_csrf(request, token))
