"""The server registry and shared settings for administrators (the manager's data, over the bus and database)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from veche.domain.model import User
from veche.domain.shared_settings import SharedSettings
from veche.manager.server_admin import ServerInfo
from veche.web.security import require_admin

router = APIRouter(tags=["servers"])

# Server ids are "<host, at most 20 characters>-<8 hex digits>" (node/agent.py): anything much longer is no server.
ServerId = Annotated[str, Path(min_length=1, max_length=64, description="A server's id")]


class ServerOut(BaseModel):
    id: str
    name: str
    roles: list[str]
    status: str  # pending | up | down | draining
    region: str
    host: str
    pid: int | None
    version: str | None
    max_participants: int
    conferences: int
    participants: int
    cpu_use: float | None
    cores: int | None
    memory_rss_bytes: int | None
    net_in_bps: float | None
    net_out_bps: float | None
    media_engine: dict[str, Any] | None
    settings_revision: int | None
    last_heartbeat_at: float | None

    @classmethod
    def of(cls, info: ServerInfo) -> ServerOut:
        hb, e = info.heartbeat, info.entry
        return cls(
            id=e.id,
            name=e.name,
            roles=e.roles,
            status=info.status,
            region=e.region,
            host=hb.host if hb else e.host,
            pid=hb.pid if hb else None,
            version=hb.software_version if hb else None,
            max_participants=e.max_participants,
            conferences=hb.conferences if hb else 0,
            participants=hb.participants if hb else 0,
            cpu_use=hb.figures.cpu_use if hb else None,
            cores=hb.figures.cores if hb else None,
            memory_rss_bytes=hb.figures.memory_rss_bytes if hb else None,
            net_in_bps=hb.figures.net_in_bps if hb else None,
            net_out_bps=hb.figures.net_out_bps if hb else None,
            media_engine=hb.media_engine.model_dump() if hb and hb.media_engine else None,
            settings_revision=hb.settings_revision if hb else None,
            last_heartbeat_at=hb.sent_at if hb else None,
        )


class _In(BaseModel):
    # Strict, as every request body of the API (web/api/schemas.py): "max_participants": "10" is refused.
    model_config = ConfigDict(extra="forbid", strict=True)


class ServerEdit(_In):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    region: str | None = Field(default=None, min_length=1, max_length=64)
    max_participants: int | None = Field(default=None, ge=1, le=100_000)
    approved: bool | None = None
    draining: bool | None = None


class ServerAction(_In):
    action: Literal["restart", "shutdown"]


class ActionOut(BaseModel):
    ok: bool
    message: str


class SettingsEdit(_In):
    """The shared settings to change; the ones left out keep their value (see SharedSettings for each)."""

    revision: int | None = Field(default=None, description="Ignored (what GET gave may be sent back as is)")
    domain: str | None = Field(default=None, max_length=253)
    video_max_height: Literal[180, 360, 720, 1080] | None = None
    video_max_bitrate_bps: int | None = Field(default=None, ge=100_000, le=8_000_000)
    turn_servers: list[dict[str, Any]] | None = Field(default=None, max_length=32)
    guests_allowed: bool | None = None
    video_codec: Literal["vp8", "vp9"] | None = None


def _admin(request: Request) -> Any:
    return request.app.state.container.get_server_admin()


@router.get("/servers", response_model=list[ServerOut], summary="Every server, live (admin)")
async def list_servers(request: Request, _admin_user: User = Depends(require_admin)) -> list[ServerOut]:
    return [ServerOut.of(info) for info in await _admin(request).servers()]


@router.get("/servers/{server_id}", response_model=ServerOut, summary="One server (admin)")
async def get_server(server_id: ServerId, request: Request, _admin_user: User = Depends(require_admin)) -> ServerOut:
    return ServerOut.of(await _admin(request).server(server_id))


@router.patch("/servers/{server_id}", response_model=ServerOut, summary="Approve, rename, move, resize or drain")
async def edit_server(
    server_id: ServerId, body: ServerEdit, request: Request, _admin_user: User = Depends(require_admin)
) -> ServerOut:
    return ServerOut.of(await _admin(request).update(server_id, **body.model_dump()))


@router.post(
    "/servers/{server_id}/actions",
    response_model=ActionOut,
    summary="Restart or shut down a server (acknowledged by it)",
)
async def server_action(
    server_id: ServerId, body: ServerAction, request: Request, _admin_user: User = Depends(require_admin)
) -> ActionOut:
    result = await _admin(request).lifecycle(server_id, body.action)
    return ActionOut(ok=result.ok, message=result.message)


@router.delete("/servers/{server_id}", status_code=204, summary="Forget a server")
async def remove_server(server_id: ServerId, request: Request, _admin_user: User = Depends(require_admin)) -> None:
    await _admin(request).remove(server_id)


@router.get("/settings", response_model=SharedSettings, summary="Shared settings (admin)")
async def get_settings(request: Request, _admin_user: User = Depends(require_admin)) -> SharedSettings:
    return await _admin(request).current_settings()  # type: ignore[no-any-return]


@router.patch("/settings", response_model=SharedSettings, summary="Change shared settings; every server applies them")
async def edit_settings(
    body: SettingsEdit, request: Request, _admin_user: User = Depends(require_admin)
) -> SharedSettings:
    changes = body.model_dump(exclude_unset=True, exclude={"revision"})
    return await _admin(request).update_settings(changes)  # type: ignore[no-any-return]
