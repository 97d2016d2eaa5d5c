"""The console's Overview (/admin): a server-rendered shell with the account and conference counts; the live
figures and alerts (servers up and down, participants and conferences now, license use, directory syncs) run in
admin_overview.js (frontend/src/admin/overview.ts) against GET /api/v1/servers, /license and /directory/sources."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from veche.web.console import admin_page_user, render_console

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/admin")
async def overview(request: Request) -> Response:
    found = await admin_page_user(request)
    if isinstance(found, Response):
        return found
    container = request.app.state.container
    return render_console(
        request,
        "admin.html",
        *found,
        "overview",
        user_count=await container.get_user_store().count(),
        conference_count=(await container.get_conferences().page(limit=1)).total,
    )
