"""The ``metrics`` config section: who may scrape ``GET /metrics`` (docs/operations.md, "Metrics")."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from veche.config.networks import checked_networks

__all__ = ["MetricsConfig"]


class MetricsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token_file: Path | None = Field(
        default=None,
        description="The bearer token scrapers send (default: the cluster's join token, cluster.join_token_file).",
    )
    allow_from: list[str] = Field(
        default_factory=list,
        description="Addresses or networks that may scrape without a token (e.g. the Prometheus host).",
    )

    @field_validator("allow_from")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        return checked_networks("metrics.allow_from", values)

    def allows(self, address: str) -> bool:
        """Whether a caller at ``address`` may scrape without a token."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(network, strict=False) for network in self.allow_from)
