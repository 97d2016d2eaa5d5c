"""The ``leases`` config section: how the manager lends the license's slots to app servers (docs/licenses.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from veche.domain.leases import LeaseTerms
from veche.domain.license_pools import Pool

__all__ = ["LeaseConfig"]


class LeaseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ttl_s: float = Field(
        default=10.0, ge=2.0, le=300.0, description="A lease lives this long unrenewed (renewed every second)."
    )
    grace_s: float = Field(
        default=900.0,
        ge=0.0,
        le=86_400.0,
        description="A server cut off from the manager keeps its running calls this long after its lease ran out.",
    )
    block: int = Field(default=8, ge=1, le=10_000, description="Slots a server keeps in hand beyond those in use.")
    reservations: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description='Per region, slots held back from the shared pool for isolated operation: {"asia": {"video": 20}}.',
    )

    @field_validator("reservations")
    @classmethod
    def _pools(cls, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        for region, pools in value.items():
            for pool, slots in pools.items():
                if pool not in {p.value for p in Pool}:
                    known = ", ".join(p.value for p in Pool)
                    raise ValueError(f"leases.reservations.{region}: unknown pool {pool!r} (pools: {known})")
                if slots < 0:
                    raise ValueError(f"leases.reservations.{region}.{pool}: must be 0 or more")
        return value

    def terms(self) -> LeaseTerms:
        return LeaseTerms(ttl_s=self.ttl_s, grace_s=self.grace_s, block=self.block)

    def reserved(self) -> dict[str, dict[Pool, int]]:
        return {region: {Pool(p): n for p, n in pools.items()} for region, pools in self.reservations.items()}
