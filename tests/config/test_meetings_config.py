"""The ``[meetings]`` section: documented defaults, reminders checked at load."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from veche.config.meetings import MeetingsConfig


def test_defaults() -> None:
    config = MeetingsConfig()
    assert (config.open_before_minutes, config.reminder_minutes, config.max_invitees) == (10, [15], 500)


def test_reminders_are_kept_once_each_latest_first_and_bounded() -> None:
    assert MeetingsConfig(reminder_minutes=[15, 60, 15]).reminder_minutes == [60, 15]
    assert MeetingsConfig(reminder_minutes=[]).reminder_minutes == []
    with pytest.raises(ValidationError, match="1 to 10080 minutes"):
        MeetingsConfig(reminder_minutes=[0])
    with pytest.raises(ValidationError):
        MeetingsConfig(reminder_mintues=[5])  # type: ignore[call-arg]  # a misspelt key is an error
