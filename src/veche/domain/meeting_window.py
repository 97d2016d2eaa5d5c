"""When a meeting's conference may be joined: from ``open_before`` its start until its end, or at once once the
owner started it early. Pure: the occurrences near now and the time are passed in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from veche.domain.meetings import Occurrence

__all__ = ["JoinWindow", "join_window"]


@dataclass(frozen=True)
class JoinWindow:
    open: bool
    opens_at: datetime | None = None  # when closed: when it opens next (None: no occurrence is left)


def join_window(
    occurrences: Sequence[Occurrence], *, now: datetime, open_before: timedelta, opened_until: datetime | None
) -> JoinWindow:
    """``occurrences``: those ending after ``now``, by start."""
    if opened_until is not None and now < opened_until:
        return JoinWindow(open=True)
    upcoming = [o for o in occurrences if o.ends_at > now]
    for occurrence in upcoming:
        if occurrence.starts_at - open_before <= now:
            return JoinWindow(open=True)
    if not upcoming:
        return JoinWindow(open=False)
    return JoinWindow(open=False, opens_at=min(o.starts_at for o in upcoming) - open_before)
