"""Base role: tells app servers which of the users in their calls are disabled or deleted, so those calls end."""

from __future__ import annotations

from veche.bus.base import Bus
from veche.bus.session_messages import DisabledAccounts, FindDisabledAccounts
from veche.storage.users import UserStore

__all__ = ["AccountWatch"]

MAX_ASKED = 10_000  # one app server's users in calls, at most, per question


class AccountWatch:
    def __init__(self, bus: Bus, users: UserStore) -> None:
        self._users = users
        bus.handle(FindDisabledAccounts, self._find)

    async def _find(self, message: FindDisabledAccounts) -> DisabledAccounts:
        asked = set(message.user_ids[:MAX_ASKED])
        found = await self._users.get_many(asked)
        active = {u.id for u in found if not u.disabled}
        return DisabledAccounts(user_ids=sorted(asked - active))
