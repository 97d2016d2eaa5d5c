"""Reading the call history: who may see which calls (web role).

A user sees the calls he took part in, with everybody who was in them; an administrator sees every call, unless he
asks for his own. A call one may not see is told not to exist (404), like a call that does not. The store applies
every filter and the pagination (:mod:`veche.storage.call_history`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

from veche.domain.call_history import CallEntry, CallPage, CallParticipant, HistoryFilter
from veche.domain.errors import InvalidInput, NotFound
from veche.domain.model import User
from veche.storage.call_history import CallHistoryStore

__all__ = ["CallHistory", "NO_SUCH_CALL"]

NO_SUCH_CALL = "No such call in your history."


class CallHistory:
    def __init__(self, store: CallHistoryStore) -> None:
        self._store = store

    async def page(self, viewer: User, query: HistoryFilter, *, mine: bool, limit: int, offset: int) -> CallPage:
        return await self._store.list_calls(_visible(viewer, query, mine), limit=limit, offset=offset)

    async def call(self, viewer: User, call_id: int) -> CallEntry:
        found = await self._store.get_call(call_id, _visible(viewer, HistoryFilter(), mine=False))
        if found is None:
            raise NotFound(NO_SUCH_CALL)
        return found

    def rows(
        self, viewer: User, query: HistoryFilter, *, mine: bool
    ) -> AsyncIterator[tuple[CallEntry, CallParticipant]]:
        """Every participant of every call the viewer may see, read in pages as the caller consumes them."""
        return self._store.participant_rows(_visible(viewer, query, mine))


def _visible(viewer: User, query: HistoryFilter, mine: bool) -> HistoryFilter:
    if query.since is not None and query.until is not None and query.since > query.until:
        raise InvalidInput("`since` must not be later than `until`.")
    if viewer.is_admin and not mine:
        return replace(query, participant_user_id=None)
    return replace(query, participant_user_id=viewer.id)
