"""GET /api/v1/health — liveness for load balancers; each role and the media engine for operators.

Anyone gets ``{"status", "version"}`` (and 503 when degraded). The details — roles, the media engine and its pid,
the servers the manager knows, license seats in use — only go to callers that show the cluster's join token
(monitoring, the cluster's own tools) or an administrator's session.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from fastapi import APIRouter, Request, Response

from veche import __version__
from veche.domain.errors import DomainError
from veche.web.security import optional_caller

router = APIRouter(tags=["health"])


async def _may_see_details(request: Request) -> bool:
    container = request.app.state.container
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        if hmac.compare_digest(value.strip().encode(), container.get_join_token().encode()):
            return True
    if "web" not in container.roles:
        return False
    try:
        caller = await optional_caller(request)
    except DomainError:
        return False
    return caller is not None and caller.user.is_admin


@router.get("/health", summary="Liveness; details for the cluster's join token or an administrator")
async def health(request: Request, response: Response) -> dict[str, Any]:
    container = request.app.state.container
    roles = {role: "up" for role in container.roles}
    body: dict[str, Any] = {"status": "ok", "version": __version__}
    details: dict[str, Any] = {"roles": roles}
    if "app" in container.roles:
        info = await container.get_media_engine().info()
        details["media_engine"] = {"name": info.name, "version": info.version, "up": info.up, "pid": info.pid}
        # Connections admitted here per license pool, and the lease each is admitted within (the fault tests sample
        # these from every server to check the pool is never exceeded).
        details["license_seats"] = {
            pool.value: {"in_use": lease.in_use, "slots": lease.slots, "live": lease.live(time.monotonic())}
            for pool, lease in container.get_license_seats().leases.items()
        }
        if not info.up:
            roles["app"] = "degraded"
            body["status"] = "degraded"
    if "manager" in container.roles:
        details["servers"] = [
            {
                "id": view.heartbeat.server_id,
                "status": view.status,
                "roles": view.heartbeat.roles,
                "conferences": view.heartbeat.conferences,
                "participants": view.heartbeat.participants,
            }
            for view in container.get_registry().servers()
        ]
    if "base" in container.roles:  # the mail queue: whether mail goes out, how many wait, the last error
        details["mail"] = await container.get_smtp_sender().status()
    if body["status"] != "ok":
        response.status_code = 503
    if await _may_see_details(request):
        body.update(details)
    return body
