"""Stores every chat message said in a conference (the base role owns the history)."""

from __future__ import annotations

from veche.bus.base import Bus
from veche.bus.messages import ChatPosted
from veche.domain.room import ChatEntry
from veche.storage.conferences import ChatStore

__all__ = ["ChatArchive"]


class ChatArchive:
    def __init__(self, bus: Bus, store: ChatStore) -> None:
        self._store = store
        bus.subscribe(ChatPosted, self._on_chat)

    async def _on_chat(self, message: ChatPosted) -> None:
        entry = ChatEntry(sender=message.sender, display_name=message.display_name, text=message.text, ts=message.ts)
        await self._store.add(message.conference_id, entry)

    async def history(self, conference_id: int, limit: int = 100) -> list[ChatEntry]:
        return await self._store.recent(conference_id, limit)
