"""Persistence of each administrator's Statistics page arrangement: one JSON document per user.

The web edge (web/api/statistics_layout.py) checks the document's shape; this store keeps it as given.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.storage.usage_tables import StatisticsLayoutRow

__all__ = ["StatisticsLayoutStore"]


class StatisticsLayoutStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, user_id: int) -> dict[str, Any] | None:
        """The user's saved arrangement, or None when he has not saved one."""
        async with self._sessions() as session:
            row = await session.get(StatisticsLayoutRow, user_id)
            if row is None:
                return None
            layout: dict[str, Any] = json.loads(row.layout)
            return layout

    async def put(self, user_id: int, layout: dict[str, Any], now: datetime) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(StatisticsLayoutRow, user_id)
            text = json.dumps(layout, separators=(",", ":"))
            if row is None:
                session.add(StatisticsLayoutRow(user_id=user_id, layout=text, updated_at=now))
            else:
                row.layout, row.updated_at = text, now
