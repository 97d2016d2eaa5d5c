"""Veche's configuration: one section per concern, read from a TOML file and ``VECHE_*`` environment variables.

Secrets are never in the file itself: they are read from ``*_file`` paths (generated into the data directory by
``veche up`` when absent).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from veche.config.cluster import BusConfig, ClusterConfig
from veche.config.directory import DirectoryConfig
from veche.config.files import FilesConfig
from veche.config.history import HistoryConfig
from veche.config.janus import JanusConfig
from veche.config.leases import LeaseConfig
from veche.config.license import LicenseConfig
from veche.config.meetings import MeetingsConfig
from veche.config.metrics import MetricsConfig
from veche.config.networks import checked_networks
from veche.config.notify import PushConfig, SmtpConfig
from veche.config.sip import SipConfig
from veche.config.statistics import StatisticsConfig

__all__ = [
    "ChatConfig",
    "DatabaseConfig",
    "HttpConfig",
    "SecurityConfig",
    "SignalingConfig",
    "VecheSettings",
    "load_settings",
    "read_or_create_secret",
]


class HttpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not ignored
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=1, le=65535)
    # The URL people open, used in invite links. Defaults to https://<host>:<port> (http:// without TLS).
    public_url: str | None = None
    # HTTPS (the default): with the certificate and key given here, or else one generated on first start for this
    # machine's names and addresses into <data_dir>/tls (docs/configuration.md, "HTTPS"). false: plain HTTP, for
    # a TLS proxy in front or 127.0.0.1 only.
    tls: bool = True
    tls_cert_file: Path | None = None  # PEM: the server's certificate, then any intermediates
    tls_key_file: Path | None = None  # PEM, unencrypted
    # Reverse proxies (addresses or networks, e.g. "127.0.0.1", "10.0.0.0/8") whose X-Forwarded-For and
    # X-Forwarded-Proto are believed. Empty: no caller's forwarding headers are believed.
    trusted_proxies: list[str] = Field(default_factory=list)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        return checked_networks("http.trusted_proxies", values)

    @model_validator(mode="after")
    def _cert_with_key(self) -> HttpConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("http.tls_cert_file and http.tls_key_file go together: give both or neither")
        return self


class DatabaseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not ignored
    # Empty: SQLite in the data directory. Otherwise an SQLAlchemy async URL, e.g. postgresql+asyncpg://...
    url: str = ""
    password_file: Path | None = None

    @field_validator("url")
    @classmethod
    def _known_driver(cls, url: str) -> str:
        if url and not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("database.url must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        if url.startswith("postgresql+asyncpg://"):
            _check_database_hosts(url)
        return url


def _check_database_hosts(url: str) -> None:
    """A PostgreSQL primary with standbys: every host as ``?host=name:port&host=...`` and ``target_session_attrs``
    so that every role connects to the one accepting writes (docs/configuration.md)."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        query = make_url(url).query
    except ArgumentError as exc:
        raise ValueError(f"database.url is not a valid URL: {exc}") from None
    hosts = query.get("host", ())
    hosts = (hosts,) if isinstance(hosts, str) else tuple(hosts)
    if len(hosts) < 2:
        return
    if not all(host.rpartition(":")[0] and host.rpartition(":")[2].isdigit() for host in hosts):
        raise ValueError("database.url: with several hosts, give each one as host=name:port")
    if query.get("target_session_attrs") not in ("read-write", "primary"):
        raise ValueError("database.url: with several hosts, add target_session_attrs=read-write")


class SecurityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not ignored
    # The cluster secret: signs join tickets and CSRF tokens. Generated into the data directory if unset.
    secret_key_file: Path | None = None
    session_ttl_hours: int = Field(default=12, ge=1, le=24 * 90)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_s: float = Field(default=60.0, gt=0)
    # Set when pages are served over HTTPS (directly or by a proxy): cookies get the Secure flag.
    secure_cookies: bool = False


class SignalingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not ignored
    # The WebSocket URL clients use for this app server; defaults to the web URL's host with /ws/v1.
    public_url: str | None = None
    # STUN/TURN servers handed to clients, as RTCIceServer objects.
    ice_servers: list[dict[str, Any]] = Field(default_factory=list)
    room_bitrate_bps: int = Field(default=2_000_000, ge=64_000)


class ChatConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not ignored
    # Chat messages older than this are deleted by the base role (at most once an hour). 0: keep them forever.
    retention_days: int = Field(default=90, ge=0, le=36_500)


class VecheSettings(BaseSettings):
    """All settings. ``data_dir`` holds the SQLite file, generated secrets and Janus's generated config."""

    model_config = SettingsConfigDict(env_prefix="VECHE_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Path(".veche")
    http: HttpConfig = Field(default_factory=HttpConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    signaling: SignalingConfig = Field(default_factory=SignalingConfig)
    chat: ChatConfig = Field(default_factory=ChatConfig)
    janus: JanusConfig = Field(default_factory=JanusConfig)
    bus: BusConfig = Field(default_factory=BusConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    directory: DirectoryConfig = Field(default_factory=DirectoryConfig)
    license: LicenseConfig = Field(default_factory=LicenseConfig)
    leases: LeaseConfig = Field(default_factory=LeaseConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    statistics: StatisticsConfig = Field(default_factory=StatisticsConfig)
    files: FilesConfig = Field(default_factory=FilesConfig)
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)  # docs/notifications.md
    push: PushConfig = Field(default_factory=PushConfig)
    meetings: MeetingsConfig = Field(default_factory=MeetingsConfig)  # docs/meetings.md
    history: HistoryConfig = Field(default_factory=HistoryConfig)  # docs/call-history.md
    sip: SipConfig = Field(default_factory=SipConfig)  # docs/sip.md

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # Made absolute where Veche starts: Janus runs in a directory of its own and reads its files by this path.
        return value.expanduser().resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if settings_cls.model_config.get("toml_file"):
            sources.append(TomlConfigSettingsSource(settings_cls))
        return tuple(sources)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'veche.db'}"

    def secret_key(self) -> bytes:
        path = self.security.secret_key_file or self.data_dir / "secret_key"
        return read_or_create_secret(path).encode()


def load_settings(config_file: Path | None = None, **overrides: Any) -> VecheSettings:
    """Settings from (in order of precedence) ``overrides``, the environment, then ``config_file``."""
    if config_file is not None and not config_file.is_file():
        raise FileNotFoundError(f"Configuration file {config_file} does not exist.")

    class _FromFile(VecheSettings):
        model_config = SettingsConfigDict(**{**VecheSettings.model_config, "toml_file": config_file})

    loaded = _FromFile(**overrides)
    return VecheSettings.model_validate(loaded.model_dump())


def read_or_create_secret(path: Path) -> str:
    """Read a secret file, creating it (mode 0600, 256 random bits) the first time."""
    if path.exists():
        value = path.read_text().strip()
        if not value:
            raise ValueError(f"Secret file {path} is empty.")
        return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(value + "\n")
    return value
