"""What one participant session of the call history adds to the Statistics page's logged figures.

A closed session (it has joined and left) adds its time in conferences to every hour and day it overlaps, and one
session to the hour and day it joined, for the whole cluster and for the server it went through. An open session
adds nothing yet (the live figures come from the heartbeats). When the history changes a session (a resend with
newer times, a dead server's sessions closed), the roll-ups take the difference between what it added before and
what it adds now, so each session is counted once, as it is now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from veche.domain.usage_stats import CLUSTER, Granularity, bucket_start, server_scope

__all__ = ["CallUsage", "SessionSpan", "call_usage_delta"]


@dataclass(frozen=True)
class SessionSpan:
    """A session as the roll-ups see it: through which server, from when to when (epoch ms; None while open)."""

    server_id: str
    joined_at_ms: int
    left_at_ms: int | None


@dataclass(frozen=True)
class CallUsage:
    """An addition (or, negative, a removal) to one bucket of one scope."""

    scope: str
    by: Granularity
    at_s: int
    participant_ms: int
    sessions: int


def _contributions(span: SessionSpan) -> dict[tuple[str, Granularity, int], tuple[int, int]]:
    if span.left_at_ms is None:
        return {}
    found: dict[tuple[str, Granularity, int], tuple[int, int]] = {}
    left = max(span.left_at_ms, span.joined_at_ms)
    for by in Granularity:
        step_ms = by.seconds * 1000
        joined_bucket = bucket_start(span.joined_at_ms // 1000, by)
        at_ms = joined_bucket * 1000
        while True:
            overlap = min(left, at_ms + step_ms) - max(span.joined_at_ms, at_ms)
            sessions = 1 if at_ms == joined_bucket * 1000 else 0
            if overlap > 0 or sessions:
                for scope in (CLUSTER, server_scope(span.server_id)):
                    found[(scope, by, at_ms // 1000)] = (max(overlap, 0), sessions)
            at_ms += step_ms
            if at_ms >= left:
                break
    return found


def call_usage_delta(changes: Iterable[tuple[SessionSpan | None, SessionSpan | None]]) -> list[CallUsage]:
    """The roll-up changes of sessions going from ``before`` (None: new) to ``after`` (None: deleted)."""
    total: dict[tuple[str, Granularity, int], list[int]] = defaultdict(lambda: [0, 0])
    for before, after in changes:
        for sign, span in ((-1, before), (1, after)):
            if span is None:
                continue
            for key, (participant_ms, sessions) in _contributions(span).items():
                total[key][0] += sign * participant_ms
                total[key][1] += sign * sessions
    return [
        CallUsage(scope, by, at_s, participant_ms, sessions)
        for (scope, by, at_s), (participant_ms, sessions) in sorted(total.items())
        if participant_ms or sessions
    ]
