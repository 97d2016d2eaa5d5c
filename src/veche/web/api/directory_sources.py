"""Directory sources for administrators: each source's sync state and progress, and "sync now".

Everything shown comes from the shared database (the base role writes it), so any web server of a cluster
answers, whether or not it runs the base role; "sync now" goes to the base role over the bus.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel

from veche.base.directory.sync_status import is_following, source_state
from veche.bus.base import BusError
from veche.bus.messages import StartDirectorySync
from veche.config.directory import DirectorySource
from veche.container import Container
from veche.domain.clock import utc_now
from veche.domain.errors import Conflict, NotFound, Unavailable
from veche.domain.model import User
from veche.storage.directory_status import SyncStatus
from veche.web.security import require_admin

__all__ = ["SourceOut", "router"]

router = APIRouter(prefix="/directory/sources", tags=["directory"])

START_TIMEOUT_S = 10.0
COUNTS_TTL_S = 5.0  # counting a million people takes a moment: not on every poll of every console
COUNTS_IDLE_TTL_S = 30.0  # people added by their first login change no sync status
# A source's name as the configuration allows it (config/directory.py): anything else names no source.
SourceName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$", description="A directory source's name")]
TRIGGERS = {"console": "from the console", "command": "by `veche directory sync`", "automatic": "automatically"}


class SourceOut(BaseModel):
    name: str
    kind: str
    urls: list[str]
    state: str  # never synced | syncing | complete | failed | interrupted
    phase: str | None  # while syncing: connecting | people | indexing | groups | finishing
    trigger: str | None  # who started the running or last sync: console | command | automatic
    people_done: int  # the running (or last) sync's progress
    groups_done: int
    expected_people: int  # people found by the last complete sync; 0 if unknown
    started_at: datetime | None
    updated_at: datetime | None
    ended_at: datetime | None
    last_full_sync_at: datetime | None  # the end of the last complete sync
    generation: int
    last_full_count: int
    people: int  # in Veche now
    disabled: int
    groups: int
    following_changes: bool
    following_seen_at: datetime | None
    last_change_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


class _Counts:
    """People, disabled and groups per source: recounted when a sync ended or a change was applied, every few
    seconds while a sync runs, and at least every half minute."""

    def __init__(self) -> None:
        self._cached: dict[str, tuple[float, tuple[object, ...], dict[str, int]]] = {}

    async def get(self, container: Container, source: str, status: SyncStatus | None) -> dict[str, int]:
        key: tuple[object, ...] = (status.ended_at, status.last_change_at) if status else ()
        running = status is not None and status.run_id is not None
        cached = self._cached.get(source)
        now = time.monotonic()
        ttl = COUNTS_TTL_S if running else COUNTS_IDLE_TTL_S
        if cached and cached[1] == key and now - cached[0] < ttl:
            return cached[2]
        counts = await container.get_directory_store().counts(source)
        self._cached[source] = (now, key, counts)
        return counts


def _counts(request: Request) -> _Counts:
    state = request.app.state
    if not hasattr(state, "directory_counts"):
        state.directory_counts = _Counts()
    counts: _Counts = state.directory_counts
    return counts


def _configured(container: Container, name: str) -> DirectorySource:
    for source in container.settings.directory.sources:
        if source.name == name:
            return source
    raise NotFound(f"There is no directory source {name!r} in this server's [directory] configuration.")


async def _describe(request: Request, source: DirectorySource, status: SyncStatus | None) -> SourceOut:
    container = request.app.state.container
    store = container.get_directory_store()
    state = await store.state(source.name)
    row = await store.sync_row(source.name)
    finished_at = row[1] if row else None
    counts = await _counts(request).get(container, source.name, status)
    now = utc_now()
    shown = source_state(status, finished_at, now)
    return SourceOut(
        name=source.name,
        kind=source.kind.value,
        urls=source.urls,
        state=shown,
        phase=status.phase if status and shown == "syncing" else None,
        trigger=(status.trigger or None) if status else None,
        people_done=status.people_done if status else 0,
        groups_done=status.groups_done if status else 0,
        expected_people=(status.expected_people if status else 0) or (state.last_full_count if state else 0),
        started_at=status.started_at if status else None,
        updated_at=status.beat_at if status else None,
        ended_at=status.ended_at if status else None,
        last_full_sync_at=finished_at,
        generation=state.generation if state else 0,
        last_full_count=state.last_full_count if state else 0,
        following_changes=is_following(status, now),
        following_seen_at=status.following_seen_at if status else None,
        last_change_at=status.last_change_at if status else None,
        last_error=status.last_error if status else None,
        last_error_at=status.error_at if status else None,
        **counts,
    )


@router.get("", response_model=list[SourceOut], summary="Directory sources and their sync state (admin)")
async def sources(request: Request, _admin: User = Depends(require_admin)) -> list[SourceOut]:
    container = request.app.state.container
    statuses = await container.get_directory_status().all()
    return [await _describe(request, s, statuses.get(s.name)) for s in container.settings.directory.sources]


@router.get("/{name}", response_model=SourceOut, summary="One directory source and its sync state (admin)")
async def source(name: SourceName, request: Request, _admin: User = Depends(require_admin)) -> SourceOut:
    container = request.app.state.container
    configured = _configured(container, name)
    return await _describe(request, configured, await container.get_directory_status().get(name))


@router.post(
    "/{name}/sync",
    response_model=SourceOut,
    status_code=202,
    summary="Start a full sync now (admin); 409 if one runs, 503 if no base server answers",
    responses={404: {"description": "No such source"}, 409: {"description": "A sync runs already"}},
)
async def sync_now(name: SourceName, request: Request, _admin: User = Depends(require_admin)) -> SourceOut:
    container = request.app.state.container
    configured = _configured(container, name)
    ask = StartDirectorySync(source=name, request_id=secrets.token_hex(8))
    try:
        reply = await container.get_bus().request(ask, timeout_s=START_TIMEOUT_S)
    except BusError as e:  # NoResponder included: no base server is running, or none is on the bus
        raise Unavailable(
            f"No base server answered, so the sync of {name} did not start ({e}). Check that the base role is "
            "running and connected to the bus, then try again."
        ) from e
    status = await container.get_directory_status().get(name)
    if reply.ok:
        return await _describe(request, configured, status)
    if reply.code == "already_running":
        raise Conflict(_already_running(name, status))
    if reply.code == "not_found":
        raise NotFound(reply.message)
    raise Unavailable(reply.message or f"The sync of {name} did not start.")


def _already_running(name: str, status: SyncStatus | None) -> str:
    message = f"A full sync of {name} is already running"
    if status is not None and status.started_at is not None:
        how = " ".join(filter(None, ["started", TRIGGERS.get(status.trigger, ""), "at"]))
        message += f" ({how} {status.started_at:%H:%M:%S} UTC)"
    return message + "; its progress is shown here."
