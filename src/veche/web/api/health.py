"""GET /api/v1/health — each role and the media engine, for load balancers and operators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from veche import __version__

router = APIRouter(tags=["health"])


@router.get("/health", summary="Health of this server's roles and media engine")
async def health(request: Request, response: Response) -> dict[str, Any]:
    container = request.app.state.container
    roles = {role: "up" for role in container.roles}
    body: dict[str, Any] = {"status": "ok", "version": __version__, "roles": roles}
    if "app" in container.roles:
        info = await container.get_media_engine().info()
        body["media_engine"] = {"name": info.name, "version": info.version, "up": info.up, "pid": info.pid}
        if not info.up:
            roles["app"] = "degraded"
            body["status"] = "degraded"
    if "manager" in container.roles:
        body["servers"] = [
            {
                "id": view.heartbeat.server_id,
                "status": view.status,
                "roles": view.heartbeat.roles,
                "conferences": view.heartbeat.conferences,
                "participants": view.heartbeat.participants,
            }
            for view in container.get_registry().servers()
        ]
    if body["status"] != "ok":
        response.status_code = 503
    return body
