"""Who may read a chat (:class:`veche.domain.chat_access.ChatAccess`): members of a direct or group chat; for a
conference's chat whoever may join the conference, and its guests (:func:`may_read_conference_chat`)."""

from __future__ import annotations

from veche.domain.chat_access import ChatRef, Reader
from veche.domain.chat_rules import may_read_conference_chat
from veche.storage.chats import ChatStore
from veche.storage.conferences import ConferenceStore
from veche.storage.users import UserStore

__all__ = ["ChatAccessRules"]


class ChatAccessRules:
    def __init__(self, chats: ChatStore, conferences: ConferenceStore, users: UserStore) -> None:
        self._chats = chats
        self._conferences = conferences
        self._users = users

    async def may_read(self, reader: Reader, chat: ChatRef) -> bool:
        """True if ``reader`` is a member of ``chat`` (may read its messages and download its files)."""
        if chat.kind == "chat":
            if reader.user_id is None:
                return False
            user = await self._users.get(reader.user_id)
            return user is not None and not user.disabled and await self._chats.is_member(chat.id, reader.user_id)
        conference = await self._conferences.get(chat.id)
        if conference is None:
            return False
        if reader.user_id is not None:
            user = await self._users.get(reader.user_id)
            return user is not None and may_read_conference_chat(conference, user, None)
        return may_read_conference_chat(conference, None, reader.guest_conference_id)

    async def display_name(self, user_id: int) -> str:
        user = await self._users.get(user_id)
        return user.display_name if user is not None else ""
