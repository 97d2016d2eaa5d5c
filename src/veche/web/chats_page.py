"""The chats page (/chats): a server-rendered shell; the chat list, the open chat, search and live messages run in
the TypeScript bundle (frontend/src/chats/, built to static/build/chats.js) over /api/v1/chats (docs/chat.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from veche.web.pages import _csrf, _page_user, _render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/chats")
async def chats_page(request: Request) -> Response:
    found = await _page_user(request)
    if not found:
        return RedirectResponse("/login?next=/chats", status_code=303)
    user, token = found
    request.app.state.container.get_presence().touch(user.id)
    return _render(request, "chats.html", user=user, csrf=_csrf(request, token))
