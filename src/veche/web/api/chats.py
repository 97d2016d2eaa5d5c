"""The chats API (`/api/v1/chats`): my chats with unread counts and presence, direct and group chats, messages by
pages (keyset: ``before`` a message id), search, read positions, calls from a chat, a conference's chat history
(for its members and, by the invite code, its guests) and the stream of new messages (Server-Sent Events).

Whoever may not read a chat gets 404, as for a chat that does not exist. docs/chat.md.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from veche.base.chats.service import ChatService
from veche.domain.chat_access import Attachment, ChatRef, Reader
from veche.domain.chat_rules import MAX_GROUP_MEMBERS, MAX_PAGE, MAX_QUERY, MAX_TEXT
from veche.domain.model import User
from veche.storage.chats import ChatInfo, ChatListItem, MessagePage, StoredMessage
from veche.web.api.params import MAX_ID, ConferenceId, Id
from veche.web.security import current_user

__all__ = ["router"]

router = APIRouter(prefix="/chats", tags=["chats"])

ChatId = Annotated[int, Path(ge=1, le=MAX_ID, description="A direct or group chat's id")]
Before = Annotated[
    int | None, Query(ge=1, le=MAX_ID, description="Only messages older than this message id (scrolling back)")
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="How many messages (newest of them)")]
_STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "The stream"}
}
STREAM_S = 25.0  # one stream's life; the browser reconnects at once with Last-Event-ID


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AttachmentOut(BaseModel):
    file_id: str
    name: str
    size: int
    content_type: str
    url: str  # the download: GET /api/v1/files/{file_id}

    @classmethod
    def of(cls, a: Attachment) -> AttachmentOut:
        return cls(
            file_id=a.file_id, name=a.name, size=a.size, content_type=a.content_type, url=f"/api/v1/files/{a.file_id}"
        )


class MessageOut(BaseModel):
    id: int
    chat: str  # "chat:<id>" or "conference:<id>"
    sender: str
    sender_user_id: int | None
    display_name: str
    text: str
    ts: str  # ISO 8601, UTC
    attachment: AttachmentOut | None

    @classmethod
    def of(cls, m: StoredMessage) -> MessageOut:
        return cls(
            id=m.id,
            chat=m.chat.key,
            sender=m.sender,
            sender_user_id=m.sender_user_id,
            display_name=m.display_name,
            text=m.text,
            ts=m.created_at.isoformat(timespec="milliseconds"),
            attachment=AttachmentOut.of(m.attachment) if m.attachment else None,
        )


class MessagePageOut(BaseModel):
    messages: list[MessageOut]  # oldest first
    more: bool  # older ones exist: ask with before=<the first one's id>

    @classmethod
    def of(cls, page: MessagePage) -> MessagePageOut:
        return cls(messages=[MessageOut.of(m) for m in page.messages], more=page.more)


class MemberOut(BaseModel):
    id: int
    display_name: str
    presence: str  # offline | online | in_conference


class ChatOut(BaseModel):
    id: int
    kind: Literal["direct", "group"]
    title: str  # a direct chat's is the other member's name
    members: list[MemberOut]
    unread: int
    last_message: MessageOut | None

    @classmethod
    def of(cls, info: ChatInfo, me: User, chats: ChatService, item: ChatListItem | None = None) -> ChatOut:
        title = info.title
        if info.kind == "direct":
            others = [m.display_name for m in info.members if m.user_id != me.id]
            title = others[0] if others else me.display_name
        return cls(
            id=info.id,
            kind="direct" if info.kind == "direct" else "group",
            title=title,
            members=[
                MemberOut(id=m.user_id, display_name=m.display_name, presence=chats.presence(m.user_id))
                for m in info.members
            ],
            unread=item.unread if item else 0,
            last_message=MessageOut.of(item.last_message) if item and item.last_message else None,
        )


class ChatListOut(BaseModel):
    chats: list[ChatOut]
    total: int


class DirectIn(_Strict):
    user_id: int = Field(ge=1, le=MAX_ID)


class GroupIn(_Strict):
    title: str = Field(min_length=1, max_length=256)
    member_ids: list[Id] = Field(min_length=1, max_length=MAX_GROUP_MEMBERS)


class MembersIn(_Strict):
    member_ids: list[Id] = Field(min_length=1, max_length=MAX_GROUP_MEMBERS)


class PostIn(_Strict):
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class ReadIn(_Strict):
    message_id: int = Field(ge=0, le=MAX_ID)


class CallOut(BaseModel):
    conference_id: int
    url: str


def _chats(request: Request) -> ChatService:
    service: ChatService = request.app.state.container.get_chat_service()
    return service


@router.get("", response_model=ChatListOut, summary="My chats, the one with the newest message first")
async def my_chats(
    request: Request,
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    offset: int = Query(0, ge=0, le=1_000_000),
    user: User = Depends(current_user),
) -> ChatListOut:
    chats = _chats(request)
    page = await chats.my_chats(user, limit=limit, offset=offset)
    return ChatListOut(chats=[ChatOut.of(i.chat, user, chats, i) for i in page.items], total=page.total)


@router.post("/direct", response_model=ChatOut, summary="The direct chat with someone (one per pair)")
async def direct(body: DirectIn, request: Request, user: User = Depends(current_user)) -> ChatOut:
    chats = _chats(request)
    return ChatOut.of(await chats.open_direct(user, body.user_id), user, chats)


@router.post("/groups", response_model=ChatOut, status_code=201, summary="Start a group chat")
async def group(body: GroupIn, request: Request, user: User = Depends(current_user)) -> ChatOut:
    chats = _chats(request)
    return ChatOut.of(await chats.create_group(user, body.title, set(body.member_ids)), user, chats)


@router.get("/search", response_model=MessagePageOut, summary="Search the messages of my direct and group chats")
async def search(
    request: Request,
    q: str = Query(..., min_length=1, max_length=MAX_QUERY, description="Text the messages contain"),
    before: Before = None,
    limit: Limit = 50,
    user: User = Depends(current_user),
) -> MessagePageOut:
    return MessagePageOut.of(await _chats(request).search(user, q, before=before, limit=limit))


@router.get(
    "/events",
    summary="New messages of my chats as Server-Sent Events (`message`, id = message id); ends after wait_s",
    response_class=StreamingResponse,
    responses=_STREAM_RESPONSES,
)
async def events(
    request: Request,
    after: int | None = Query(None, ge=0, le=MAX_ID, description="Start after this message id (default: now)"),
    wait_s: float = Query(STREAM_S, ge=0, le=STREAM_S, description="Keep the stream open this long"),
    last_event_id: str | None = Header(None, max_length=20),
    user: User = Depends(current_user),
) -> StreamingResponse:
    delivery = request.app.state.container.get_chat_delivery()
    return _event_stream(delivery.follow(user.id, _resume(after, last_event_id), wait_s=wait_s))


def _resume(after: int | None, last_event_id: str | None) -> int | None:
    if last_event_id is not None and last_event_id.isdigit():
        return int(last_event_id)  # the browser reconnecting: go on from the last message it got
    return after


def _event_stream(messages: AsyncIterator[StoredMessage]) -> StreamingResponse:
    async def stream() -> AsyncIterator[str]:
        yield "retry: 1000\n\n"
        async for message in messages:
            data = json.dumps(MessageOut.of(message).model_dump(), ensure_ascii=False)
            yield f"id: {message.id}\nevent: message\ndata: {data}\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


@router.get(
    "/conferences/{conference_id}/events",
    summary="New messages of a conference's chat stored by base (files posted to it) as Server-Sent Events",
    response_class=StreamingResponse,
    responses=_STREAM_RESPONSES,
)
async def conference_events(
    conference_id: ConferenceId,
    request: Request,
    after: int | None = Query(None, ge=0, le=MAX_ID, description="Start after this message id (default: now)"),
    wait_s: float = Query(STREAM_S, ge=0, le=STREAM_S, description="Keep the stream open this long"),
    last_event_id: str | None = Header(None, max_length=20),
    user: User = Depends(current_user),
) -> StreamingResponse:
    chat = ChatRef("conference", conference_id)
    await _chats(request).require_reader(Reader(user_id=user.id, display_name=user.display_name), chat)
    delivery = request.app.state.container.get_chat_delivery()
    return _event_stream(delivery.follow_chat(chat, _resume(after, last_event_id), wait_s=wait_s))


@router.get(
    "/invites/{code}/events",
    summary="The same for the conference's guests (by the invite code)",
    response_class=StreamingResponse,
    responses=_STREAM_RESPONSES,
)
async def guest_events(
    request: Request,
    code: str = Path(..., min_length=1, max_length=64),
    after: int | None = Query(None, ge=0, le=MAX_ID, description="Start after this message id (default: now)"),
    wait_s: float = Query(STREAM_S, ge=0, le=STREAM_S, description="Keep the stream open this long"),
    last_event_id: str | None = Header(None, max_length=20),
) -> StreamingResponse:
    _, chat = await _chats(request).guest_reader(code)
    delivery = request.app.state.container.get_chat_delivery()
    return _event_stream(delivery.follow_chat(chat, _resume(after, last_event_id), wait_s=wait_s))


@router.get(
    "/conferences/{conference_id}/messages",
    response_model=MessagePageOut,
    summary="A conference's chat history, by pages (for whoever may join it)",
)
async def conference_messages(
    conference_id: ConferenceId,
    request: Request,
    before: Before = None,
    limit: Limit = 50,
    q: str | None = Query(None, min_length=1, max_length=MAX_QUERY, description="Only messages with this text"),
    user: User = Depends(current_user),
) -> MessagePageOut:
    reader = Reader(user_id=user.id, display_name=user.display_name)
    page = await _chats(request).messages(reader, ChatRef("conference", conference_id), before=before, limit=limit, q=q)
    return MessagePageOut.of(page)


@router.get(
    "/invites/{code}/messages",
    response_model=MessagePageOut,
    summary="A conference's chat history for its guests (by the invite code), by pages",
)
async def guest_messages(
    request: Request,
    code: str = Path(..., min_length=1, max_length=64),
    before: Before = None,
    limit: Limit = 50,
) -> MessagePageOut:
    page = await _chats(request).guest_messages(code, before=before, limit=limit)
    return MessagePageOut.of(page)


@router.get("/{chat_id}", response_model=ChatOut, summary="One of my chats, its members with presence")
async def one_chat(chat_id: ChatId, request: Request, user: User = Depends(current_user)) -> ChatOut:
    chats = _chats(request)
    return ChatOut.of(await chats.chat(user, chat_id), user, chats)


@router.post("/{chat_id}/members", response_model=ChatOut, summary="Add people to a group chat")
async def add_members(
    chat_id: ChatId, body: MembersIn, request: Request, user: User = Depends(current_user)
) -> ChatOut:
    chats = _chats(request)
    return ChatOut.of(await chats.add_members(user, chat_id, set(body.member_ids)), user, chats)


@router.delete("/{chat_id}/members/me", status_code=204, summary="Leave a group chat")
async def leave(chat_id: ChatId, request: Request, user: User = Depends(current_user)) -> None:
    await _chats(request).leave(user, chat_id)


@router.get("/{chat_id}/messages", response_model=MessagePageOut, summary="A chat's messages, by pages")
async def messages(
    chat_id: ChatId,
    request: Request,
    before: Before = None,
    limit: Limit = 50,
    q: str | None = Query(None, min_length=1, max_length=MAX_QUERY, description="Only messages with this text"),
    user: User = Depends(current_user),
) -> MessagePageOut:
    reader = Reader(user_id=user.id, display_name=user.display_name)
    return MessagePageOut.of(
        await _chats(request).messages(reader, ChatRef("chat", chat_id), before=before, limit=limit, q=q)
    )


@router.post("/{chat_id}/messages", response_model=MessageOut, status_code=201, summary="Send a message")
async def post(chat_id: ChatId, body: PostIn, request: Request, user: User = Depends(current_user)) -> MessageOut:
    return MessageOut.of(await _chats(request).post(user, chat_id, body.text))


@router.post("/{chat_id}/read", status_code=204, summary="I have read the chat up to this message")
async def read(chat_id: ChatId, body: ReadIn, request: Request, user: User = Depends(current_user)) -> None:
    await _chats(request).mark_read(user, chat_id, body.message_id)


@router.post("/{chat_id}/call", response_model=CallOut, status_code=201, summary="Start a call from the chat")
async def call(chat_id: ChatId, request: Request, user: User = Depends(current_user)) -> CallOut:
    started = await _chats(request).start_call(user, chat_id)
    return CallOut(conference_id=started.conference.id, url=started.url)
