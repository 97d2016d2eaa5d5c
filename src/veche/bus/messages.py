"""Every message that crosses the bus between roles: a declared, typed, versioned class.

Events are published to everyone who listens; requests (:class:`BusRequest` subclasses) are answered by exactly
one server, with the reply class each declares (``class Ping(BusRequest[CommandResult])``). The bus semantics
are in :mod:`veche.bus.base`; the wire form in :mod:`veche.bus.envelope`.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, field_validator

from veche.domain.shared_settings import SharedSettings

__all__ = [
    "BusMessage",
    "BusRequest",
    "ConferenceEnded",
    "ConferenceMoved",
    "Ping",
    "RegisterServer",
    "Registration",
    "RestartServer",
    "ShutdownServer",
    "UpdateServer",
    "ServerFigures",
    "SettingsChanged",
    "ChatPosted",
    "CommandResult",
    "EngineStatus",
    "ListParticipants",
    "LiveParticipant",
    "RemovedEntry",
    "ModerateParticipant",
    "ParticipantJoined",
    "ParticipantLeft",
    "ParticipantList",
    "ServerHeartbeat",
    "PresenceSeen",
    "IncomingCall",
    "CallDismissed",
    "StartDirectorySync",
    "CallSessionRecord",
    "RecordCallSessions",
    "NotificationsQueued",
]

logger = logging.getLogger(__name__)


class BusMessage(BaseModel):
    """Base of every bus message. ``subject`` names it on the wire; ``schema_version`` lets receivers evolve."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    subject: ClassVar[str]
    schema_version: ClassVar[int] = 1


R = TypeVar("R", bound=BusMessage)


class BusRequest(BusMessage, Generic[R]):
    """Base of every request: ``class Ask(BusRequest[Answer])`` declares that handlers reply with an ``Answer``.

    ``reply_type`` is filled in from that parameter, so the bus checks replies at run time and mypy types
    :meth:`~veche.bus.base.Bus.request` by it.
    """

    reply_type: ClassVar[type[BusMessage]]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for base in cls.__mro__:
            metadata = getattr(base, "__pydantic_generic_metadata__", None)
            if metadata and metadata["origin"] is BusRequest and metadata["args"]:
                reply = metadata["args"][0]
                if isinstance(reply, type) and issubclass(reply, BusMessage):
                    cls.reply_type = reply
                break
        if "subject" in cls.__dict__ and not hasattr(cls, "reply_type"):
            raise TypeError(f"{cls.__name__} must declare its reply: subclass BusRequest[ReplyClass].")


class CommandResult(BusMessage):
    """The reply of a request that only says whether it worked: ``code`` names the failure, ``message`` says it."""

    subject: ClassVar[str] = "veche.command.result"
    ok: bool
    code: str = ""
    message: str = ""


class EngineStatus(BaseModel):
    name: str
    version: str
    up: bool
    pid: int | None = None


class ServerFigures(BaseModel):
    """Load figures a server reports with each heartbeat."""

    cpu_use: float = 0.0  # 0..1 of all cores
    cores: int = 1
    memory_rss_bytes: int = 0
    memory_use: float = 0.0  # 0..1 of the machine
    net_in_bps: float = 0.0
    net_out_bps: float = 0.0


class ServerHeartbeat(BusMessage):
    """Every server, every second: who it is and how it is doing."""

    subject: ClassVar[str] = "veche.server.heartbeat"
    server_id: str
    roles: list[str]
    software_version: str
    host: str
    pid: int
    sent_at: float
    name: str = ""
    region: str = "default"
    state: str = "up"  # what the server believes: "pending" | "up" | "draining"
    signaling_url: str = ""  # app servers: where clients connect ("" = same origin as the web pages)
    max_participants: int = 0
    bandwidth_capacity_bps: int = 0
    settings_revision: int = 0
    figures: ServerFigures = ServerFigures()
    media_engine: EngineStatus | None = None
    conferences: int = 0
    participants: int = 0


def _known_settings(value: Any) -> Any:
    """Drop the settings this version does not know: a newer manager may send more than it understands."""
    if isinstance(value, dict):
        unknown = value.keys() - SharedSettings.model_fields.keys()
        if unknown:
            logger.debug("ignoring shared settings this version does not know: %s", ", ".join(sorted(unknown)))
            return {key: item for key, item in value.items() if key not in unknown}
    return value


class Registration(BusMessage):
    """The manager's answer to :class:`RegisterServer`: whether the server is approved, what it is called, and
    the shared settings; or, with ``refusal`` set, why the manager refuses it (a wrong join token)."""

    subject: ClassVar[str] = "veche.server.registration"
    approved: bool
    name: str
    region: str
    max_participants: int
    draining: bool = False
    settings: SharedSettings = SharedSettings()
    refusal: str = ""

    @field_validator("settings", mode="before")
    @classmethod
    def _only_known_settings(cls, value: Any) -> Any:
        return _known_settings(value)


class RegisterServer(BusRequest[Registration]):
    """A starting server introduces itself to the manager with the cluster's join token."""

    subject: ClassVar[str] = "veche.server.register"
    server_id: str
    roles: list[str]
    host: str
    name: str
    region: str
    join_token: str
    software_version: str


class UpdateServer(BusRequest[ServerHeartbeat]):
    """Manager to one server: what the admin decided about it (``None`` leaves a field as it is).

    Answered with the server's heartbeat in its new state, so the manager knows it without waiting for the next
    heartbeat; the server also publishes that heartbeat for everyone else (placement on other web servers).
    """

    subject: ClassVar[str] = "veche.server.update"
    approved: bool | None = None
    name: str | None = None
    region: str | None = None
    max_participants: int | None = None
    draining: bool | None = None


class RestartServer(BusRequest[CommandResult]):
    """Manager to one server: restart the process (acknowledged first, done a moment later)."""

    subject: ClassVar[str] = "veche.server.restart"


class ShutdownServer(BusRequest[CommandResult]):
    """Manager to one server: stop the process (acknowledged first, done a moment later)."""

    subject: ClassVar[str] = "veche.server.shutdown"


class SettingsChanged(BusMessage):
    """The manager's shared settings changed; every server applies them at once."""

    subject: ClassVar[str] = "veche.settings.changed"
    settings: SharedSettings

    @field_validator("settings", mode="before")
    @classmethod
    def _only_known_settings(cls, value: Any) -> Any:
        return _known_settings(value)


class ConferenceEnded(BusMessage):
    """The last participant left a conference on an app server; its placement is forgotten."""

    subject: ClassVar[str] = "veche.conference.ended"
    server_id: str
    conference_id: int


class ConferenceMoved(BusMessage):
    """A web server placed a running conference on another app server because its own failed (a failover).

    Several web servers may notice the same failure: ``epoch`` (the new placement's) tells one move from another.
    """

    subject: ClassVar[str] = "veche.conference.moved"
    conference_id: int
    from_server: str
    to_server: str
    epoch: int


class Ping(BusRequest[CommandResult]):
    """Is this server alive? Answered with ``CommandResult(ok=True)``."""

    subject: ClassVar[str] = "veche.server.ping"


class ChatPosted(BusMessage):
    """A chat message said in a conference; the base role stores it."""

    subject: ClassVar[str] = "veche.conference.chat"
    conference_id: int
    sender: str
    display_name: str
    text: str
    ts: str


class ModerateParticipant(BusRequest[CommandResult]):
    """Command to the app server running a conference: mute or remove a participant."""

    subject: ClassVar[str] = "veche.conference.moderate"
    conference_id: int
    participant: str
    # "mute" | "remove" | "make_speaker" | "make_listener" | "lower_hand" | "readmit" (then ``participant`` is
    # the removed identity)
    action: str
    by: str  # display name of the moderator


class LiveParticipant(BaseModel):
    id: str
    display_name: str
    guest: bool
    role: str
    audio: bool
    video: bool
    force_muted: bool
    kind: str = "browser"  # browser | gateway | stream | recorder | remote_leg
    hand_raised: bool = False


class RemovedEntry(BaseModel):
    """Someone a moderator removed: kept out until a moderator lets him back ("readmit" with ``identity``)."""

    identity: str
    display_name: str
    by: str


class ParticipantList(BusMessage):
    """Who is in a conference now, as its app server sees it."""

    subject: ClassVar[str] = "veche.conference.participants.reply"
    participants: list[LiveParticipant]
    removed: list[RemovedEntry] = []


class ListParticipants(BusRequest[ParticipantList]):
    """To the app server running a conference: who is in it? Servers not running it stay silent."""

    subject: ClassVar[str] = "veche.conference.participants"
    conference_id: int


class ParticipantJoined(BusMessage):
    """Someone joined a conference on an app server (``identity`` is "user:<id>" or "guest:..."); for presence."""

    subject: ClassVar[str] = "veche.conference.participant.joined"
    server_id: str
    conference_id: int
    participant_id: str
    identity: str


class ParticipantLeft(BusMessage):
    """Someone left a conference (or was removed, or his connection dropped)."""

    subject: ClassVar[str] = "veche.conference.participant.left"
    server_id: str
    conference_id: int
    participant_id: str
    identity: str


class PresenceSeen(BusMessage):
    """A signed-in user made a request on one web server: "online" on every server. Each server sends at most
    one per user per few seconds, so the bus carries a fraction of the requests."""

    subject: ClassVar[str] = "veche.directory.presence.seen"
    user_id: int


class IncomingCall(BusMessage):
    """A user called a contact from the address book: the callee's open pages show "X is calling you" until he
    joins, declines, or ``ring_s`` passes."""

    subject: ClassVar[str] = "veche.directory.call.incoming"
    conference_id: int
    caller_id: int
    caller_name: str
    callee_id: int
    ring_s: float = 60.0
    conference_slug: str = ""  # the conference page is /c/<slug>
    callee_name: str = ""  # for the caller's "Ringing Bob…"
    call_id: str = ""  # one ring: a late copy of an ended call's message rings nothing again


class CallDismissed(BusMessage):
    """A call stopped ringing before its time: every server stops showing it, and tells the caller why."""

    subject: ClassVar[str] = "veche.directory.call.dismissed"
    conference_id: int
    callee_id: int
    reason: str = "declined"  # "declined" (the callee), "cancelled" (the caller), "answered" (the callee)


class StartDirectorySync(BusRequest[CommandResult]):
    """Web to the base role: run a full sync of a directory source now (the console's "Sync now").

    Answered with ``CommandResult``: ``ok`` (code "started"), or code "already_running" / "not_found".
    ``request_id`` claims the sync in the shared database, so with several base servers exactly one runs it
    and the others stay silent.
    """

    subject: ClassVar[str] = "veche.directory.sync.start"
    source: str
    request_id: str


class CallSessionRecord(BaseModel):
    """One participant session of the call history (veche.domain.call_history.SessionRecord on the wire)."""

    session_id: str
    conference_id: int
    conference_name: str = ""
    identity: str
    display_name: str
    guest: bool
    kind: str  # browser | api | sip | stream | recorder | remote_leg
    user_agent: str = ""
    server_id: str
    joined_at_ms: int
    left_at_ms: int | None = None  # None: still in the call
    revision: int
    bytes_in: int = 0
    bytes_out: int = 0
    packets_in: int = 0
    packets_out: int = 0
    lost_in: int = 0
    lost_out: int = 0


class RecordCallSessions(BusRequest[CommandResult]):
    """App server to the base role: store these call history sessions (the newest revision of each wins).

    ``ok`` means all are stored; the app server keeps and resends them until then, so a base restart loses
    nothing and a resend counts nothing twice. ``incarnation`` names this run of the app server: open sessions
    of its earlier runs (it died and came back) are closed at ``started_at_ms``.
    """

    subject: ClassVar[str] = "veche.history.sessions.record"
    server_id: str
    incarnation: str
    started_at_ms: int
    sessions: list[CallSessionRecord] = []


class NotificationsQueued(BusMessage):
    """A server without the base role queued mails or pushes: base servers look at their queues now rather than at
    their next poll (docs/notifications.md). Losing one only delays delivery until that poll."""

    subject: ClassVar[str] = "veche.notify.queued"
    mail: bool = False
    push: bool = False
