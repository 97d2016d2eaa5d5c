"""The ``statistics`` config section: how long the manager keeps usage samples and roll-ups (docs/operations.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["StatisticsConfig"]


class StatisticsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    samples_days: int = Field(
        default=14, ge=1, le=3650, description="Raw minute samples are kept this many days (hourly roll-ups a year)."
    )
    hours_days: int = Field(
        default=366, ge=1, le=36_500, description="Hourly roll-ups are kept this many days; daily ones for good."
    )
