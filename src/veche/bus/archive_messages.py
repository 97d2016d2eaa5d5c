"""Bus messages of the conference chat archive: an app server hands each chat post to a base server and keeps it
until one acknowledges it (app/chat_archive_sender.py, base/chat_archive.py)."""

from __future__ import annotations

from typing import ClassVar

from veche.bus.messages import BusRequest, CommandResult

__all__ = ["ArchiveChatPost"]


class ArchiveChatPost(BusRequest[CommandResult]):
    """Store a chat message said in a conference; ``post_id`` (random, made by the app server) makes a resend
    harmless: the base servers store each post once. Answered ``ok`` once the post is stored (or was already)."""

    subject: ClassVar[str] = "veche.conference.chat.archive"
    post_id: str
    conference_id: int
    sender: str
    display_name: str
    text: str
    ts: str
