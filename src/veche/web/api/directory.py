"""The address book API: search people (with presence), look one up, call him; directory sources (admin)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from veche.base.directory.address_book import Contact
from veche.domain.model import User
from veche.web.security import current_user, require_admin

router = APIRouter(prefix="/directory", tags=["directory"])


class ContactOut(BaseModel):
    id: int
    login: str
    display_name: str
    email: str
    phone: str
    department: str
    title: str
    source: str | None  # the directory source, None for local users
    presence: str  # offline | online | in_conference

    @classmethod
    def of(cls, c: Contact) -> ContactOut:
        e = c.entry
        return cls(
            id=e.user_id,
            login=e.login,
            display_name=e.display_name,
            email=e.email,
            phone=e.phone,
            department=e.department,
            title=e.title,
            source=e.source,
            presence=c.presence.presence.value,
        )


class CallOut(BaseModel):
    conference_id: int
    url: str


class SourceOut(BaseModel):
    name: str
    kind: str
    urls: list[str]
    phase: str
    generation: int
    last_full_count: int
    following_changes: bool
    last_error: str | None
    finished_at: datetime | None
    people: int
    disabled: int
    groups: int


@router.get("/search", response_model=list[ContactOut], summary="Search the address book")
async def search(
    request: Request,
    q: str = Query(..., max_length=100, description="Part of a name, login, email, phone or department"),
    limit: int = Query(20, ge=1, le=100),
    user: User = Depends(current_user),
) -> list[ContactOut]:
    contacts = await request.app.state.container.get_address_book().search(user, q, limit=limit)
    return [ContactOut.of(c) for c in contacts]


@router.get("/contacts/{user_id}", response_model=ContactOut, summary="One contact, with presence")
async def contact(user_id: int, request: Request, user: User = Depends(current_user)) -> ContactOut:
    return ContactOut.of(await request.app.state.container.get_address_book().contact(user, user_id))


@router.post(
    "/contacts/{user_id}/call",
    response_model=CallOut,
    status_code=201,
    summary="Call a contact: an ad hoc conference open to the two of you",
)
async def call(user_id: int, request: Request, user: User = Depends(current_user)) -> CallOut:
    conference = await request.app.state.container.get_address_book().call(user, user_id)
    return CallOut(conference_id=conference.id, url=f"/c/{conference.id}")


@router.post("/presence", status_code=204, summary="I am here (the web client calls this while open)")
async def heartbeat(request: Request, user: User = Depends(current_user)) -> None:
    request.app.state.container.get_presence().touch(user.id)


@router.get("/sources", response_model=list[SourceOut], summary="Directory sources and their sync state (admin)")
async def sources(request: Request, _admin: User = Depends(require_admin)) -> list[SourceOut]:
    container = request.app.state.container
    store = container.get_directory_store()
    watchers = container.get_directory_sync().watchers if container.settings.directory.sources else {}
    out = []
    for source in container.settings.directory.sources:
        state = await store.state(source.name)
        stored = await store.counts(source.name)
        row = await store.sync_row(source.name)
        watcher = watchers.get(source.name)
        out.append(
            SourceOut(
                name=source.name,
                kind=source.kind.value,
                urls=source.urls,
                phase=state.phase if state else "never synced",
                generation=state.generation if state else 0,
                last_full_count=state.last_full_count if state else 0,
                following_changes=bool(watcher and watcher.connected.is_set()),
                last_error=row[0] if row else None,
                finished_at=row[1] if row else None,
                **stored,
            )
        )
    return out
