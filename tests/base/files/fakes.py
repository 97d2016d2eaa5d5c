"""In-memory stand-ins for the chat side of files: who is a member, and the messages files were posted in."""

from __future__ import annotations

from dataclasses import dataclass, field

from veche.domain.chat_access import Attachment, ChatRef, Reader


@dataclass
class FakeChats:
    """ChatAccess and ChatPoster: ``members[chat key]`` are the user ids (or "guest:<conference>") who may read."""

    members: dict[str, set[str]] = field(default_factory=dict)
    posted: list[tuple[Reader, ChatRef, Attachment, str]] = field(default_factory=list)
    fail_posting: bool = False

    @staticmethod
    def who(reader: Reader) -> str:
        return f"user:{reader.user_id}" if reader.user_id is not None else f"guest:{reader.guest_conference_id}"

    async def may_read(self, reader: Reader, chat: ChatRef) -> bool:
        return self.who(reader) in self.members.get(chat.key, set())

    async def post_attachment(self, reader: Reader, chat: ChatRef, attachment: Attachment, text: str = "") -> None:
        if self.fail_posting:
            raise RuntimeError("the chat is down")
        self.posted.append((reader, chat, attachment, text))
