"""The console's Components page (/admin/components): a server-rendered shell; the tables, one per segment, are
drawn and refreshed every 2 s by admin_components.js (frontend/src/admin/components.ts) from GET
/api/v1/components."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from veche.web.console import admin_page_user, render_console

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/admin/components")
async def components_page(request: Request) -> Response:
    found = await admin_page_user(request)
    if isinstance(found, Response):
        return found
    return render_console(request, "admin_components.html", *found, "components")
