"""GET /api/v1/components (admins): every component of the cluster, its state, and which is active.

The processes as this web server hears their heartbeats, the database hosts of its segment, and the NATS nodes
(see manager/components.py for how each is looked at, domain/components.py for the states).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from veche.domain.components import Component
from veche.domain.model import User
from veche.manager.components import ComponentsView
from veche.storage.cluster import ServerCatalogStore
from veche.storage.leader_lock import LeaderLockStore
from veche.web.security import require_admin

__all__ = ["ComponentOut", "router"]

router = APIRouter(tags=["servers"])


class ComponentOut(BaseModel):
    kind: Literal["manager", "base", "web", "app", "database", "nats"]
    name: str
    segment: str | None  # a region; null for what every segment shares (the NATS cluster)
    address: str
    state: Literal["up", "down", "stale"]
    active: bool
    role: str  # database: primary | standby; processes: their role; NATS: ""
    detail: str
    server_id: str
    replication_lag_s: float | None

    @classmethod
    def of(cls, c: Component) -> ComponentOut:
        return cls(
            kind=c.kind,  # type: ignore[arg-type]  # one of the literals, by domain/components.py
            name=c.name,
            segment=c.segment,
            address=c.address,
            state=c.state.value,  # type: ignore[arg-type]
            active=c.active,
            role=c.role,
            detail=c.detail,
            server_id=c.server_id,
            replication_lag_s=c.lag_s,
        )


def _view(request: Request) -> ComponentsView:
    view = getattr(request.app.state, "components_view", None)
    if isinstance(view, ComponentsView):
        return view
    container = request.app.state.container
    settings = container.settings
    monitor = [u.strip() for u in settings.bus.monitor_url.split(",") if u.strip()]
    locks = LeaderLockStore(container.get_database().sessions)
    view = ComponentsView(
        registry=container.get_registry(),
        catalog=ServerCatalogStore(container.get_database().sessions),
        bus=container.get_bus(),
        database_url=settings.database_url,
        monitor_urls=monitor,
        segment=settings.cluster.region,
        leader_holder=locks.holder,
        takeovers=locks.takeovers,
    )
    request.app.state.components_view = view
    return view


@router.get(
    "/components",
    response_model=list[ComponentOut],
    summary="Every component of the cluster, its state and which is active (admin)",
)
async def list_components(request: Request, _admin_user: User = Depends(require_admin)) -> list[ComponentOut]:
    return [ComponentOut.of(c) for c in await _view(request).components()]
