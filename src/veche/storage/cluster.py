"""Persistence of the cluster: the server catalog, shared settings and conference placements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.domain.shared_settings import SharedSettings
from veche.storage.cluster_tables import ConferencePlacementRow, ServerRow, SharedSettingsRow

__all__ = ["CatalogEntry", "Placement", "PlacementStore", "ServerCatalogStore", "SharedSettingsStore"]


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    roles: list[str]
    host: str
    name: str
    region: str
    approved: bool
    draining: bool
    max_participants: int


def _entry(row: ServerRow) -> CatalogEntry:
    return CatalogEntry(
        id=row.id,
        roles=row.roles.split(","),
        host=row.host,
        name=row.name,
        region=row.region,
        approved=row.approved,
        draining=row.draining,
        max_participants=row.max_participants,
    )


class ServerCatalogStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def register(
        self,
        *,
        server_id: str,
        roles: list[str],
        host: str,
        name: str,
        region: str,
        approved: bool,
        max_participants: int,
        now: datetime,
    ) -> CatalogEntry:
        """The server's entry, created on first registration (later registrations only refresh its host)."""
        async with self._sessions.begin() as session:
            row = await session.get(ServerRow, server_id)
            if row is None:
                row = ServerRow(
                    id=server_id,
                    roles=",".join(roles),
                    host=host,
                    name=name,
                    region=region,
                    approved=approved,
                    draining=False,
                    max_participants=max_participants,
                    registered_at=now,
                )
                session.add(row)
            else:
                row.host, row.roles = host, ",".join(roles)
            await session.flush()
            return _entry(row)

    async def get(self, server_id: str) -> CatalogEntry | None:
        async with self._sessions() as session:
            row = await session.get(ServerRow, server_id)
            return _entry(row) if row else None

    async def all(self) -> list[CatalogEntry]:
        async with self._sessions() as session:
            return [_entry(r) for r in await session.scalars(select(ServerRow).order_by(ServerRow.name))]

    async def update(self, server_id: str, **fields: Any) -> CatalogEntry | None:
        async with self._sessions.begin() as session:
            row = await session.get(ServerRow, server_id)
            if row is None:
                return None
            for key, value in fields.items():
                if value is not None:
                    setattr(row, key, value)
            await session.flush()
            return _entry(row)

    async def remove(self, server_id: str) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(ServerRow).where(ServerRow.id == server_id))
            return bool(getattr(result, "rowcount", 0))


class SharedSettingsStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def load(self) -> SharedSettings:
        async with self._sessions() as session:
            row = await session.get(SharedSettingsRow, 1)
            return SharedSettings.model_validate({**row.data, "revision": row.revision}) if row else SharedSettings()

    async def save(self, settings: SharedSettings, now: datetime) -> SharedSettings:
        """Store a new revision (one more than the stored one) and return it."""
        async with self._sessions.begin() as session:
            row = await session.get(SharedSettingsRow, 1, with_for_update=True)
            revision = (row.revision if row else 0) + 1
            data = settings.model_dump(exclude={"revision"})
            if row is None:
                session.add(SharedSettingsRow(id=1, revision=revision, data=data, updated_at=now))
            else:
                row.revision, row.data, row.updated_at = revision, data, now
        return settings.model_copy(update={"revision": revision})


@dataclass(frozen=True)
class Placement:
    conference_id: int
    server_id: str
    signaling_url: str


class PlacementStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, conference_id: int) -> Placement | None:
        async with self._sessions() as session:
            row = await session.get(ConferencePlacementRow, conference_id)
            return Placement(row.conference_id, row.server_id, row.signaling_url) if row else None

    async def forget(self, conference_id: int, server_id: str) -> None:
        """Drop the placement if it still names ``server_id`` (the conference may have moved meanwhile)."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(ConferencePlacementRow).where(
                    ConferencePlacementRow.conference_id == conference_id,
                    ConferencePlacementRow.server_id == server_id,
                )
            )

    async def place(self, placement: Placement, *, replacing: str | None, now: datetime) -> Placement:
        """Record a placement unless another web server placed the conference first; returns the winner."""
        async with self._sessions.begin() as session:
            if replacing is None:
                try:
                    async with session.begin_nested():
                        session.add(
                            ConferencePlacementRow(
                                conference_id=placement.conference_id,
                                server_id=placement.server_id,
                                signaling_url=placement.signaling_url,
                                placed_at=now,
                            )
                        )
                    return placement
                except IntegrityError:
                    pass
            else:
                result = await session.execute(
                    update(ConferencePlacementRow)
                    .where(
                        ConferencePlacementRow.conference_id == placement.conference_id,
                        ConferencePlacementRow.server_id == replacing,
                    )
                    .values(server_id=placement.server_id, signaling_url=placement.signaling_url, placed_at=now)
                )
                if getattr(result, "rowcount", 0):
                    return placement
        current = await self.get(placement.conference_id)
        return current or placement
