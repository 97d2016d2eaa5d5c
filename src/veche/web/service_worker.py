"""GET /sw.js: the service worker that shows Web Push notifications. Served at the root so that its scope is "/"
(every page); ``Service-Worker-Allowed`` says so explicitly."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

__all__ = ["router"]

SERVICE_WORKER = Path(__file__).parent / "static" / "sw.js"

router = APIRouter(include_in_schema=False)


@router.get("/sw.js")
async def service_worker() -> Response:
    return Response(
        SERVICE_WORKER.read_bytes(),
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"},
    )
