"""Builds the object graph of a role. The only place that reads configuration to choose implementations."""

from __future__ import annotations

import functools
import uuid
from datetime import timedelta

from veche.app.media_engine import MediaEngine
from veche.app.service import AppService
from veche.base.auth import AuthService
from veche.base.chat_archive import ChatArchive
from veche.base.conferences import ConferenceService
from veche.bus.base import Bus
from veche.bus.inproc import InProcessBus
from veche.config.settings import VecheSettings
from veche.domain.clock import utc_now
from veche.domain.login_throttle import LoginThrottle
from veche.manager.registry import ServerRegistry
from veche.storage.conferences import ChatStore, ConferenceStore
from veche.storage.database import Database
from veche.storage.users import SessionStore, UserStore

__all__ = ["Container", "ALL_ROLES"]

ALL_ROLES = ["manager", "base", "web", "app"]


class Container:
    """Every dependency is a cached ``get_<name>()``; roles pick what they need."""

    def __init__(self, settings: VecheSettings, roles: list[str]) -> None:
        self.settings = settings
        self.roles = roles
        self.server_id = uuid.uuid4().hex[:12]

    @functools.cache  # noqa: B019 - one container per process, lives as long as it
    def get_secret_key(self) -> bytes:
        return self.settings.secret_key()

    @functools.cache  # noqa: B019
    def get_database(self) -> Database:
        return Database(self.settings.database_url)

    @functools.cache  # noqa: B019
    def get_bus(self) -> Bus:
        return InProcessBus()

    @functools.cache  # noqa: B019
    def get_user_store(self) -> UserStore:
        return UserStore(self.get_database().sessions)

    @functools.cache  # noqa: B019
    def get_auth(self) -> AuthService:
        security = self.settings.security
        return AuthService(
            self.get_user_store(),
            SessionStore(self.get_database().sessions),
            utc_now,
            session_ttl=timedelta(hours=security.session_ttl_hours),
            throttle=LoginThrottle(max_failures=security.login_max_failures, window_s=security.login_window_s),
        )

    @functools.cache  # noqa: B019
    def get_conferences(self) -> ConferenceService:
        return ConferenceService(
            ConferenceStore(self.get_database().sessions),
            self.get_user_store(),
            utc_now,
            self.get_secret_key(),
        )

    @functools.cache  # noqa: B019
    def get_chat_archive(self) -> ChatArchive:
        return ChatArchive(self.get_bus(), ChatStore(self.get_database().sessions))

    @functools.cache  # noqa: B019
    def get_registry(self) -> ServerRegistry:
        return ServerRegistry(self.get_bus())

    @functools.cache  # noqa: B019
    def get_media_engine(self) -> MediaEngine:
        from veche.app.janus.engine import JanusMediaEngine

        return JanusMediaEngine(self.settings.janus, self.settings.data_dir)

    @functools.cache  # noqa: B019
    def get_app_service(self) -> AppService:
        return AppService(
            self.get_media_engine(),
            self.get_bus(),
            server_id=self.server_id,
            roles=self.roles,
            bitrate_bps=self.settings.signaling.room_bitrate_bps,
        )

    async def start(self) -> None:
        """Start what the roles of this process need, in dependency order."""
        if "base" in self.roles:
            await self.get_database().migrate()
            self.get_chat_archive()
        if "manager" in self.roles:
            self.get_registry()
        if "app" in self.roles:
            await self.get_app_service().start()

    async def stop(self) -> None:
        if "app" in self.roles:
            await self.get_app_service().stop()
        await self.get_bus().close()
        if "base" in self.roles:
            await self.get_database().close()
