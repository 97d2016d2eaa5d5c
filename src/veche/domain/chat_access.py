"""Who may read a chat: the seam between chats (base/chats/) and what hangs off them (files, search).

A chat is a conference's chat or a chat outside conferences (direct or group). A reader is a signed-in user or a
guest of one conference. Whoever may not read a chat is told it does not exist (404), never that it is forbidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["Attachment", "ChatAccess", "ChatPoster", "ChatRef", "Reader"]


@dataclass(frozen=True)
class ChatRef:
    kind: Literal["conference", "chat"]  # a conference's chat, or a direct/group chat
    id: int  # the conference's id or the chat's id

    @property
    def key(self) -> str:
        """One string for storage: "conference:12" or "chat:7"."""
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, key: str) -> ChatRef:
        kind, _, number = key.partition(":")
        if kind not in ("conference", "chat") or not number.isdigit():
            raise ValueError(f"not a chat reference: {key!r}")
        return cls(kind, int(number))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Reader:
    """A signed-in user (``user_id``) or a guest of the conference ``guest_conference_id``."""

    user_id: int | None = None
    guest_conference_id: int | None = None
    display_name: str = ""


class ChatAccess(Protocol):
    async def may_read(self, reader: Reader, chat: ChatRef) -> bool:
        """True if ``reader`` is a member of ``chat`` (may read its messages and download its files)."""


@dataclass(frozen=True)
class Attachment:
    """A file sent in a chat (stored by base/files/), as a chat message carries it."""

    file_id: str  # random, unguessable: the download is GET /api/v1/files/{file_id}
    name: str
    size: int
    content_type: str


class ChatPoster(Protocol):
    async def post_attachment(self, reader: Reader, chat: ChatRef, attachment: Attachment, text: str = "") -> None:
        """Post a message carrying ``attachment`` to ``chat`` as ``reader`` (stored, then delivered to members)."""
