"""A stored message as it crosses the bus and back (storage/chats.StoredMessage <-> bus StoredChatMessage)."""

from __future__ import annotations

from datetime import datetime

from veche.bus.chat_messages import ChatFile, StoredChatMessage
from veche.domain.chat_access import Attachment, ChatRef
from veche.storage.chats import StoredMessage

__all__ = ["attachment_of", "file_of", "from_wire", "to_wire"]


def file_of(attachment: Attachment | None) -> ChatFile | None:
    if attachment is None:
        return None
    return ChatFile(
        file_id=attachment.file_id, name=attachment.name, size=attachment.size, content_type=attachment.content_type
    )


def attachment_of(file: ChatFile | None) -> Attachment | None:
    if file is None:
        return None
    return Attachment(file_id=file.file_id, name=file.name, size=file.size, content_type=file.content_type)


def to_wire(message: StoredMessage) -> StoredChatMessage:
    return StoredChatMessage(
        id=message.id,
        chat=message.chat.key,
        sender=message.sender,
        sender_user_id=message.sender_user_id,
        display_name=message.display_name,
        text=message.text,
        ts=message.created_at.isoformat(timespec="milliseconds"),
        attachment=file_of(message.attachment),
    )


def from_wire(message: StoredChatMessage) -> StoredMessage:
    return StoredMessage(
        id=message.id,
        chat=ChatRef.parse(message.chat),
        sender=message.sender,
        sender_user_id=message.sender_user_id,
        display_name=message.display_name,
        text=message.text,
        created_at=datetime.fromisoformat(message.ts),
        attachment=attachment_of(message.attachment),
    )
