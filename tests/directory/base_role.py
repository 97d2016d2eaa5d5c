"""A base role for directory tests: settings with the given sources, its database migrated; its users by login."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from veche.config.directory import DirectorySource
from veche.config.settings import load_settings
from veche.container import Container
from veche.storage.tables import UserRow

__all__ = ["base_container", "users_by_login"]


async def base_container(data_dir: Path, *sources: DirectorySource, watch: bool = False) -> Container:
    settings = load_settings(
        None,
        data_dir=data_dir,
        directory={"sources": [s.model_dump() for s in sources], "watch": watch},
    )
    container = Container(settings, ["base"])
    await container.get_database().migrate()
    return container


async def users_by_login(container: Container) -> dict[str, UserRow]:
    async with container.get_database().sessions() as session:
        return {u.login: u for u in await session.scalars(select(UserRow))}
