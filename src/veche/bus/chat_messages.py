"""Bus messages of the persistent chats: a web server asks the base role to store a message (``PostChatMessage``);
the base role stores it and tells every web server (``ChatMessageStored``), which hand it to the open pages of
its members (base/chats/delivery.py)."""

from __future__ import annotations

import secrets
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from veche.bus.messages import BusMessage, BusRequest

__all__ = ["ChatFile", "ChatMessageStored", "ChatPostResult", "PostChatMessage", "StoredChatMessage"]


class ChatFile(BaseModel):
    """A file a message carries (stored by base/files/; downloaded from /api/v1/files/{file_id})."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    file_id: str
    name: str
    size: int
    content_type: str


class StoredChatMessage(BaseModel):
    """A message as stored: ``chat`` is "chat:<id>" or "conference:<id>"; ``ts`` ISO 8601 UTC."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    id: int
    chat: str
    sender: str
    sender_user_id: int | None = None
    display_name: str
    text: str
    ts: str
    attachment: ChatFile | None = None


class ChatPostResult(BusMessage):
    """The base role's answer: the stored message, or why it was not stored (``code``: "not_found" when the
    sender is no member of the chat, "invalid_input" for a message that breaks a rule)."""

    subject: ClassVar[str] = "veche.chat.post.reply"
    ok: bool
    code: str = ""
    error: str = ""
    message: StoredChatMessage | None = None


class PostChatMessage(BusRequest[ChatPostResult]):
    """Web server to the base role: store this message (the sender was checked as a reader of the chat by the
    web server; the base role checks membership of a direct/group chat again, in the same transaction)."""

    subject: ClassVar[str] = "veche.chat.post"
    chat: str
    sender: str
    sender_user_id: int | None = None
    display_name: str
    text: str
    attachment: ChatFile | None = None
    # Every base server hears the request: the one that claims this id stores the message (base/work_once.py).
    post_id: str = Field(default_factory=lambda: secrets.token_hex(12))


class ChatMessageStored(BusMessage):
    """To every web server: a message was stored; ``member_ids`` are the users whose open pages should get it
    (a direct/group chat's members; empty for a conference's chat, whose pages follow the conference)."""

    subject: ClassVar[str] = "veche.chat.stored"
    message: StoredChatMessage
    member_ids: list[int]
