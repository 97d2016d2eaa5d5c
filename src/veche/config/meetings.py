"""The ``meetings`` config section: when scheduled meetings open for joining, when reminders go (docs/meetings.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["MeetingsConfig"]


class MeetingsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    open_before_minutes: int = Field(
        default=10, ge=0, le=24 * 60, description="A meeting's conference opens for joining this long before it starts."
    )
    reminder_minutes: list[int] = Field(
        default_factory=lambda: [15],
        max_length=5,
        description="Reminders (e-mail and in-app/push) go this many minutes before each occurrence; [] for none.",
    )
    reminder_interval_s: float = Field(
        default=30.0, gt=0, le=3600, description="How often the base role looks for reminders that are due."
    )
    max_invitees: int = Field(default=500, ge=1, le=10_000, description="Invitees per meeting (groups expanded).")

    @field_validator("reminder_minutes")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if any(not 1 <= m <= 7 * 24 * 60 for m in value):
            raise ValueError("each reminder is 1 to 10080 minutes before the start")
        return sorted(set(value), reverse=True)
