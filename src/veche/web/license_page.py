"""The console's License page: a server-rendered shell; the figures, the use chart and the upload run in
admin_license.js against GET/PUT /api/v1/license (web/api/license.py) and GET /api/v1/servers for names."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from veche.web.pages import _csrf, _page_user, _render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/admin/license")
async def admin_license(request: Request) -> Response:
    found = await _page_user(request)
    if not found:
        return RedirectResponse("/login?next=/admin/license", status_code=303)
    user, token = found
    if not user.is_admin:
        return _render(
            request, "message.html", 403, title="Not allowed", message="Only administrators may open the console."
        )
    return _render(request, "license.html", user=user, csrf=_csrf(request, token), section="license")
