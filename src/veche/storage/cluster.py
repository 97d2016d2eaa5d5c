"""Persistence of the cluster: the server catalog, shared settings and conference placements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.domain.shared_settings import SharedSettings
from veche.storage.cluster_tables import ConferenceLegRow, ServerRow, SharedSettingsRow

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
    """One leg of a conference: the server it runs on, under which epoch."""

    conference_id: int
    server_id: str
    signaling_url: str
    epoch: int = 0
    leg: str = ""  # the region of the leg; "" while a conference has one leg (before cascading)


def _placement(row: ConferenceLegRow) -> Placement:
    return Placement(row.conference_id, row.server_id, row.signaling_url, row.epoch, row.leg)


def next_epoch(previous: int, now: datetime) -> int:
    """Epochs grow with each move, and across a conference's runs: milliseconds, at least one more than before."""
    return max(previous + 1, int(now.timestamp() * 1000))


class PlacementStore:
    """The legs of running conferences. Two web servers placing at once: the first write wins."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, conference_id: int, leg: str = "") -> Placement | None:
        async with self._sessions() as session:
            row = await session.get(ConferenceLegRow, (conference_id, leg))
            return _placement(row) if row else None

    async def legs(self, conference_id: int) -> list[Placement]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ConferenceLegRow).where(ConferenceLegRow.conference_id == conference_id)
            )
            return [_placement(r) for r in rows]

    async def forget(self, conference_id: int, server_id: str) -> None:
        """Drop the legs on ``server_id`` (the conference may have moved meanwhile: then nothing changes)."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(ConferenceLegRow).where(
                    ConferenceLegRow.conference_id == conference_id,
                    ConferenceLegRow.server_id == server_id,
                )
            )

    async def place(self, placement: Placement, *, replacing: Placement | None, now: datetime) -> Placement:
        """Record a leg unless another web server placed it first; returns the winner, with its epoch."""
        async with self._sessions.begin() as session:
            if replacing is None:
                try:
                    async with session.begin_nested():
                        row = ConferenceLegRow(
                            conference_id=placement.conference_id,
                            leg=placement.leg,
                            server_id=placement.server_id,
                            signaling_url=placement.signaling_url,
                            epoch=next_epoch(0, now),
                            placed_at=now,
                        )
                        session.add(row)
                    return _placement(row)
                except IntegrityError:
                    pass
            else:
                epoch = next_epoch(replacing.epoch, now)
                result = await session.execute(
                    update(ConferenceLegRow)
                    .where(
                        ConferenceLegRow.conference_id == placement.conference_id,
                        ConferenceLegRow.leg == placement.leg,
                        ConferenceLegRow.server_id == replacing.server_id,
                        ConferenceLegRow.epoch == replacing.epoch,
                    )
                    .values(
                        server_id=placement.server_id, signaling_url=placement.signaling_url, epoch=epoch, placed_at=now
                    )
                )
                if getattr(result, "rowcount", 0):
                    return Placement(
                        placement.conference_id, placement.server_id, placement.signaling_url, epoch, placement.leg
                    )
        current = await self.get(placement.conference_id, placement.leg)
        return current or placement
