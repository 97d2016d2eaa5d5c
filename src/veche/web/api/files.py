"""Files in chats: send one to a chat (multipart, streamed), list a chat's files, download one.

Only members of a chat may send to it or download its files; to anyone else the chat and its files answer 404
exactly as if they did not exist. Downloads are always attachments (never shown inline by the browser, whatever
their type) with ``X-Content-Type-Options: nosniff`` and a sandboxing Content-Security-Policy.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

from veche.base.files.errors import FileRefused, FileTooLarge
from veche.base.files.service import NO_SUCH_CHAT, ChatFiles
from veche.domain.chat_access import ChatRef, Reader
from veche.domain.errors import AuthenticationFailed, NotFound
from veche.domain.file_types import describe_size
from veche.domain.names import clean_name
from veche.storage.chat_files import ChatFile
from veche.web.api.params import MAX_ID
from veche.web.content_disposition import attachment_disposition
from veche.web.errors import error_body
from veche.web.multipart_upload import receive_upload
from veche.web.security import Caller, optional_caller

__all__ = ["router"]

router = APIRouter(tags=["files"])

MULTIPART_SLACK = 64 * 1024  # boundaries, part headers and the text field around the file itself
# Types a browser would render or run if it ever ignored the attachment disposition: served as plain bytes.
ACTIVE_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml", "application/xml", "text/xml")
DOWNLOAD_CSP = "default-src 'none'; sandbox"

# Who may call: a signed-in user (a cookie caller's writes need the CSRF token) or a guest by his invite code.
READER_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in (and no valid invite code)"},
    403: {"description": "A cookie caller without the CSRF token"},
}
UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    **READER_ERRORS,
    400: {"description": "Not a multipart/form-data upload with one file part"},
    413: {"description": "The file is larger than the limit, or does not fit in the sender's quota"},
    415: {"description": "Files of this type may not be sent, or the content contradicts the name"},
    422: {"description": "Refused by the virus scan, or not a valid upload"},
    503: {"description": "The virus scan or the file storage does not answer; try again later"},
}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "text": {"type": "string", "maxLength": 4000},
                    },
                }
            }
        },
    }
}


class FileOut(BaseModel):
    file_id: str
    name: str
    size: int
    content_type: str
    url: str  # where it is downloaded (members only)

    @classmethod
    def of(cls, file_id: str, name: str, size: int, content_type: str) -> FileOut:
        return cls(file_id=file_id, name=name, size=size, content_type=content_type, url=f"/api/v1/files/{file_id}")


class ChatFileOut(FileOut):
    sender_name: str
    sent_at: str

    @classmethod
    def of_file(cls, file: ChatFile) -> ChatFileOut:
        return cls(
            file_id=file.id,
            name=file.name,
            size=file.size,
            content_type=file.content_type,
            url=f"/api/v1/files/{file.id}",
            sender_name=file.uploader_name,
            sent_at=file.created_at.isoformat(timespec="seconds"),
        )


class FileLimitsOut(BaseModel):
    max_size_bytes: int
    allowed_types: list[str]
    quota_bytes: int | None
    used_bytes: int


def _files(request: Request) -> ChatFiles:
    files: ChatFiles = request.app.state.container.get_chat_files()
    return files


async def current_reader(
    request: Request,
    caller: Caller | None = Depends(optional_caller),
    invite: str | None = Query(
        None, max_length=64, description="A guest's invite code (guests have no account): the conference's chat"
    ),
    guest_name: str | None = Query(None, max_length=64, description="A guest's display name, shown with his file"),
) -> Reader:
    """The signed-in user (bearer token or session cookie) or else, by the invite link he came with, a guest of
    that conference (as the chat history for guests, web/api/chats.py)."""
    if caller is not None:
        return Reader(user_id=caller.user.id, display_name=caller.user.display_name)
    if invite:
        container = request.app.state.container
        try:
            conference = await container.get_conferences().by_invite(invite)
        except NotFound:
            raise AuthenticationFailed(
                "This invite link is not valid (the conference may have been deleted)."
            ) from None
        if container.get_agent().settings.guests_allowed:
            name = clean_name(guest_name, what="Your display name", max_length=64) if guest_name else "Guest"
            return Reader(guest_conference_id=conference.id, display_name=name)
    raise AuthenticationFailed("Log in first: send `Authorization: Bearer <token>` from POST /api/v1/auth/token.")


def _chat(key: str) -> ChatRef:
    try:
        chat = ChatRef.parse(key)
    except ValueError:
        raise NotFound(NO_SUCH_CHAT) from None
    if chat.id > MAX_ID:
        raise NotFound(NO_SUCH_CHAT)
    return chat


def _refusal(exc: FileRefused) -> JSONResponse:
    headers = {"Connection": "close"} if isinstance(exc, FileTooLarge) else None  # the rest is not read
    return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status, headers=headers)


@router.post(
    "/chats/{chat}/files",
    status_code=201,
    response_model=FileOut,
    summary='Send a file to a chat ("conference:12" or "chat:7"): multipart/form-data with "file" and "text"',
    responses=UPLOAD_ERRORS,
    openapi_extra=UPLOAD_BODY,
)
async def send_file(chat: str, request: Request, reader: Reader = Depends(current_reader)) -> Any:
    files = _files(request)
    ref = _chat(chat)
    await files.check_member(reader, ref)
    try:
        declared = int(request.headers.get("content-length", "0") or 0)
    except ValueError:
        declared = 0
    try:
        limit = files.policy.max_size_bytes
        if declared > limit + MULTIPART_SLACK:
            raise FileTooLarge(f"The file is larger than the limit of {describe_size(limit)}; it was not sent.")
        if declared > MULTIPART_SLACK:
            await files.check_room_for(reader, declared - MULTIPART_SLACK)
        upload = await receive_upload(request, files.incoming)
        async with upload.file:
            attachment = await files.send(reader, ref, upload.file, upload.text)
    except FileRefused as exc:
        return _refusal(exc)
    return FileOut.of(attachment.file_id, attachment.name, attachment.size, attachment.content_type)


@router.get(
    "/chats/{chat}/files",
    response_model=list[ChatFileOut],
    summary="The files sent in a chat, newest first, paged (members only)",
    responses=READER_ERRORS,
)
async def list_chat_files(
    chat: str,
    request: Request,
    reader: Reader = Depends(current_reader),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=MAX_ID),
) -> list[ChatFileOut]:
    found = await _files(request).in_chat(reader, _chat(chat), limit=limit, offset=offset)
    return [ChatFileOut.of_file(f) for f in found]


@router.get(
    "/files/limits",
    response_model=FileLimitsOut,
    summary="What may be sent: size, types, my quota",
    responses=READER_ERRORS,
)
async def file_limits(request: Request, reader: Reader = Depends(current_reader)) -> FileLimitsOut:
    files = _files(request)
    usage = await files.usage_of(reader)
    return FileLimitsOut(
        max_size_bytes=files.policy.max_size_bytes,
        allowed_types=list(files.policy.allowed_types),
        quota_bytes=usage.quota_bytes,
        used_bytes=usage.used_bytes,
    )


@router.get(
    "/files/{file_id}",
    summary="Download a file sent in a chat (members of that chat only)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, **READER_ERRORS, 503: UPLOAD_ERRORS[503]},
)
async def download_file(file_id: str, request: Request, reader: Reader = Depends(current_reader)) -> StreamingResponse:
    files = _files(request)
    file = await files.file_for(reader, file_id)
    content = await files.content(file)
    served_type = "application/octet-stream" if file.content_type.startswith(ACTIVE_TYPES) else file.content_type
    headers = {
        "Content-Disposition": attachment_disposition(file.name),
        "Content-Length": str(file.size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": DOWNLOAD_CSP,
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(content, media_type=served_type, headers=headers)
