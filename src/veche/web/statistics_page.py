"""The console's Statistics page: a server-rendered shell; the charts run in admin_statistics.js
(frontend/src/admin/statistics.ts) against GET /api/v1/statistics, GET/PUT /api/v1/statistics/layout and
GET /api/v1/servers for the server and region choices."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from veche.web.console import admin_page_user, render_console

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/admin/statistics")
async def admin_statistics(request: Request) -> Response:
    found = await admin_page_user(request)
    if isinstance(found, Response):
        return found
    return render_console(request, "statistics.html", *found, "statistics")
