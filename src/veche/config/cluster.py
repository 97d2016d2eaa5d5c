"""The ``bus`` and ``cluster`` config sections: how a server finds the others and introduces itself."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["BusConfig", "ClusterConfig"]


class BusConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Empty: the in-process bus of `veche up`. Otherwise NATS URLs, comma separated.
    url: str = ""
    # Optional: the NATS servers' monitoring endpoints (http://host:8222), comma separated; the console's
    # components view reads each node's name and routes from /varz and /routez there.
    monitor_url: str = ""

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
    # Managers: one active, the others standby; the active one holds a leader lock in the database (docs/operations.md).
    leader_ttl_s: float = Field(default=5.0, ge=1.0, le=120.0, description="Manager: how long the leader lock lasts.")
    leader_renew_s: float = Field(default=1.0, gt=0.0, le=30.0, description="Manager: how often it is renewed.")

    @model_validator(mode="after")
    def _renewed_in_time(self) -> ClusterConfig:
        if self.leader_renew_s >= self.leader_ttl_s / 2:
            raise ValueError("cluster.leader_renew_s must be under half of cluster.leader_ttl_s")
        return self
