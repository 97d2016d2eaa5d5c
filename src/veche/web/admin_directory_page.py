"""The console's directory page: server-rendered shell; sources and "Sync now" run in admin_directory.js."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from veche.web.pages import _csrf, _page_user, _render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/admin/directory")
async def admin_directory(request: Request) -> Response:
    found = await _page_user(request)
    if not found:
        return RedirectResponse("/login?next=/admin/directory", status_code=303)
    user, token = found
    if not user.is_admin:
        return _render(
            request, "message.html", 403, title="Not allowed", message="Only administrators may open the console."
        )
    sources = request.app.state.container.settings.directory.sources
    return _render(
        request, "admin_directory.html", user=user, csrf=_csrf(request, token), sources=sources, section="directory"
    )
