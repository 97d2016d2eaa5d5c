"""The call history's rules: what a participant session is, how sessions make calls, quality and usage figures.

Pure (no I/O, time passed in). The app role's sender (:mod:`veche.app.call_log_sender`) builds
:class:`SessionRecord` values, the base role's :mod:`veche.base.call_log` stores them
(:mod:`veche.storage.call_history`), and the web edge (:mod:`veche.web.api.history`) shows them.

- A **session** is one participant's stay in a conference on one app server, from his join to his leave. Its id is
  chosen by the app server; every change of it is sent again with a higher ``revision``, so the store keeps the
  newest and a resend is never a second entry.
- A **call** is one run of a conference: the sessions of the conference that overlap in time, from the first join to
  the last leave. A session that overlaps no call of its conference starts one; one that overlaps several joins them
  into one (a failover's new server, a resend arriving late). Calls only grow: a session closing never splits one.
- An app server that dies leaves its sessions open: they are closed when its death becomes known (no heartbeat for
  3 s, or the server announcing a new incarnation), at that moment.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from veche.domain.liveness import HEARTBEAT_INTERVAL_S, MISSED_HEARTBEATS_DOWN

__all__ = [
    "CLOSED_BY_APP",
    "CLOSED_BY_RESTART",
    "CLOSED_BY_SERVER_DOWN",
    "CallEntry",
    "CallPage",
    "CallParticipant",
    "ClientKind",
    "HistoryFilter",
    "HourlyUsage",
    "MediaCounters",
    "SessionRecord",
    "client_kind",
    "dead_servers",
    "hourly_usage",
    "user_id_of",
]

# Why a session has a leave time: the app server said so, or base closed it when the server's death was known.
CLOSED_BY_APP = "app"
CLOSED_BY_SERVER_DOWN = "server_down"
CLOSED_BY_RESTART = "server_restart"

HOUR_MS = 3_600_000
DOWN_AFTER_MS = int(HEARTBEAT_INTERVAL_S * MISSED_HEARTBEATS_DOWN * 1000)
USER_AGENT_MAX = 256


class ClientKind(enum.StrEnum):
    """From what kind of client or endpoint a participant took part."""

    BROWSER = "browser"  # a web browser running Veche's client
    API = "api"  # a program speaking the signaling protocol itself (a synthetic or API client)
    SIP = "sip"  # a SIP (later H.323) endpoint through a gateway
    STREAM = "stream"  # an RTSP camera or another stream source
    RECORDER = "recorder"  # a broadcaster or recorder
    REMOTE_LEG = "remote_leg"  # another app server's leg of the conference


def client_kind(participant_kind: str, user_agent: str) -> ClientKind:
    """The client kind of a participant, from the room's participant kind and the client's User-Agent."""
    match participant_kind:
        case "gateway":
            return ClientKind.SIP
        case "stream":
            return ClientKind.STREAM
        case "recorder":
            return ClientKind.RECORDER
        case "remote_leg":
            return ClientKind.REMOTE_LEG
    # Every browser sends "Mozilla/5.0 ..."; libraries send their own name (python-websockets, Go-http-client...).
    return ClientKind.BROWSER if user_agent.startswith("Mozilla/") else ClientKind.API


def user_id_of(identity: str) -> int | None:
    """The user id of an identity "user:<id>"; None for a guest."""
    kind, _, number = identity.partition(":")
    return int(number) if kind == "user" and number.isdigit() else None


@dataclass(frozen=True)
class MediaCounters:
    """What the media engine counted for a participant, as seen from the server: ``in`` is what he sent to it
    (his published feeds), ``out`` what it sent him (his subscriptions). Cumulative; lost packets as the engine's
    RTCP reports them."""

    bytes_in: int = 0
    bytes_out: int = 0
    packets_in: int = 0
    packets_out: int = 0
    lost_in: int = 0
    lost_out: int = 0

    def __add__(self, other: MediaCounters) -> MediaCounters:
        return MediaCounters(
            self.bytes_in + other.bytes_in,
            self.bytes_out + other.bytes_out,
            self.packets_in + other.packets_in,
            self.packets_out + other.packets_out,
            self.lost_in + other.lost_in,
            self.lost_out + other.lost_out,
        )

    def bitrates_bps(self, seconds: float) -> tuple[int, int]:
        """Average bit rates (in, out) over ``seconds`` of the session."""
        if seconds <= 0:
            return 0, 0
        return round(self.bytes_in * 8 / seconds), round(self.bytes_out * 8 / seconds)

    def loss(self) -> tuple[float, float]:
        """Fractions of packets lost (in, out), 0..1."""
        return _fraction(self.lost_in, self.packets_in), _fraction(self.lost_out, self.packets_out)


def _fraction(lost: int, received: int) -> float:
    total = lost + received
    return round(lost / total, 4) if total > 0 and lost > 0 else 0.0


@dataclass(frozen=True)
class SessionRecord:
    """One participant session as the app server sends it (and resends it until base acknowledges)."""

    session_id: str
    conference_id: int
    conference_name: str
    identity: str  # "user:<id>" or "guest:..."
    display_name: str
    guest: bool
    kind: ClientKind
    user_agent: str
    server_id: str
    joined_at_ms: int
    left_at_ms: int | None  # None: still in the call
    revision: int  # grows with every change: the store keeps the highest
    media: MediaCounters = MediaCounters()

    def with_media(self, media: MediaCounters) -> SessionRecord:
        return replace(self, media=media, revision=self.revision + 1)

    def closed(self, at_ms: int, media: MediaCounters) -> SessionRecord:
        return replace(self, left_at_ms=max(at_ms, self.joined_at_ms), media=media, revision=self.revision + 1)


@dataclass(frozen=True)
class HistoryFilter:
    """What the history is narrowed to. ``participant_user_id`` is who may see it (a user sees the calls he took
    part in; None for an administrator); the other fields are the administrator's filters."""

    participant_user_id: int | None = None
    since: datetime | None = None  # calls running at or after
    until: datetime | None = None  # calls started before
    user_id: int | None = None  # calls this user took part in
    conference_id: int | None = None
    server_id: str | None = None  # calls with a participant through this server
    kind: ClientKind | None = None  # calls with a participant from this kind of client


def dead_servers(
    open_on: Iterable[str], last_heard_ms: Mapping[str, int], listening_since_ms: int, now_ms: int
) -> list[str]:
    """The servers with open sessions whose death is known now: no heartbeat for 3 s.

    A server never heard since this base started listening is dead once base has listened for as long (a live one
    beats every second), so a restarted base closes what servers died meanwhile, and nothing of a live one. While
    no server at all is heard (base itself is cut off from the bus), nobody is known dead.
    """
    if not any(now_ms - heard < DOWN_AFTER_MS for heard in last_heard_ms.values()):
        return []
    dead = []
    for server in open_on:
        heard = last_heard_ms.get(server, listening_since_ms)
        if now_ms - heard >= DOWN_AFTER_MS:
            dead.append(server)
    return sorted(dead)


@dataclass(frozen=True)
class HourlyUsage:
    """One hour (UTC, starting at ``hour_ms``): participant-minutes spent in calls and conference runs running."""

    hour_ms: int
    participant_minutes: float
    conference_runs: int


def hourly_usage(
    sessions: Iterable[tuple[int, int | None]],
    runs: Iterable[tuple[int, int | None]],
    start_ms: int,
    end_ms: int,
    now_ms: int,
) -> list[HourlyUsage]:
    """Participant-minutes and conference runs per hour in [start, end), from (from, to) intervals in ms.

    An interval still open (``to`` None) runs until ``now_ms``. A session is counted in every hour it overlaps, for
    the part in it; a run counts once in every hour it was running. Hours start on the hour, UTC.
    """
    first = start_ms - start_ms % HOUR_MS
    hours = list(range(first, end_ms, HOUR_MS))
    minutes = dict.fromkeys(hours, 0.0)
    counts = dict.fromkeys(hours, 0)
    for begin, finish in sessions:
        stop = min(finish if finish is not None else now_ms, end_ms)
        begin = max(begin, start_ms)
        hour = begin - begin % HOUR_MS
        while hour < stop:
            part = min(stop, hour + HOUR_MS) - max(begin, hour)
            if part > 0 and hour in minutes:
                minutes[hour] += part / 60_000
            hour += HOUR_MS
    for begin, finish in runs:
        stop = min(finish if finish is not None else now_ms, end_ms)
        begin = max(begin, start_ms)
        if stop < begin:
            continue
        # Every hour from the run's first to the one holding its last instant (a run ending on the hour is not
        # running in the next one; a run of no length still ran in its hour).
        last = max(begin, stop - 1)
        for hour in range(begin - begin % HOUR_MS, last + 1, HOUR_MS):
            if hour in counts:
                counts[hour] += 1
    return [HourlyUsage(h, round(minutes[h], 3), counts[h]) for h in hours]


@dataclass(frozen=True)
class CallParticipant:
    """One participant session of a call, as the history shows it."""

    session_id: str
    identity: str
    user_id: int | None
    display_name: str
    guest: bool
    kind: str
    user_agent: str
    server_id: str
    joined_at_ms: int
    left_at_ms: int | None
    closed_by: str
    media: MediaCounters

    def duration_ms(self, now_ms: int) -> int:
        return max(0, (self.left_at_ms if self.left_at_ms is not None else now_ms) - self.joined_at_ms)


@dataclass(frozen=True)
class CallEntry:
    """One run of a conference with its participants (``ended_at_ms`` None while it runs)."""

    id: int
    conference_id: int
    conference_name: str
    started_at_ms: int
    ended_at_ms: int | None
    participants: tuple[CallParticipant, ...] = ()


@dataclass(frozen=True)
class CallPage:
    total: int
    calls: list[CallEntry]
