"""The ``history`` config section: how long the call history is kept and how often media figures are read
(docs/call-history.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["HistoryConfig"]


class HistoryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    retention_days: int = Field(
        default=0,
        ge=0,
        le=36_500,
        description="Calls that ended longer ago than this are deleted by the base role, hourly (0: kept for good).",
    )
    media_sample_s: float = Field(
        default=5.0,
        ge=1.0,
        le=300.0,
        description="App servers read each participant's media counters from the engine this often.",
    )
