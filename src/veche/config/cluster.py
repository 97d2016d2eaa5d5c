"""The ``bus`` and ``cluster`` config sections: how a server finds the others and introduces itself."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["BusConfig", "ClusterConfig"]


class BusConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Empty: the in-process bus of `veche up`. Otherwise NATS URLs, comma separated.
    url: str = ""

    @field_validator("url")
    @classmethod
    def _nats(cls, url: str) -> str:
        for part in filter(None, (p.strip() for p in url.split(","))):
            if not part.startswith(("nats://", "tls://")):
                raise ValueError(f"bus.url entries must start with nats:// or tls://, got {part!r}")
        return url

    @property
    def servers(self) -> list[str]:
        return [p.strip() for p in self.url.split(",") if p.strip()]


class ClusterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", description="This server's name in the console (default: host name and role).")
    region: str = Field(default="default", min_length=1, max_length=64)
    join_token_file: Path | None = Field(
        default=None, description="The cluster join token new servers present (default <data_dir>/join_token)."
    )
    auto_approve: bool = Field(default=False, description="Manager: approve servers that register, no admin step.")
    max_participants: int = Field(default=500, ge=1, description="App servers: participants this server may take.")
    bandwidth_capacity_bps: int = Field(default=1_000_000_000, ge=1_000_000)
