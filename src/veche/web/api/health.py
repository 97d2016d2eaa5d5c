"""GET /api/v1/health — each role and the media engine, for load balancers and operators."""

from __future__ import annotations

import time
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
        # Connections admitted here per license pool, and the lease each is admitted within (the fault tests sample
        # these from every server to check the pool is never exceeded).
        body["license_seats"] = {
            pool.value: {"in_use": lease.in_use, "slots": lease.slots, "live": lease.live(time.monotonic())}
            for pool, lease in container.get_license_seats().leases.items()
        }
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
