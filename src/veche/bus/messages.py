"""Every message that crosses the bus between roles: a declared, typed, versioned class.

Events are published to everyone who listens; commands are requests answered by exactly one server.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

__all__ = [
    "BusMessage",
    "ConferenceEnded",
    "Ping",
    "RegisterServer",
    "Registration",
    "ServerCommand",
    "ServerFigures",
    "SettingsChanged",
    "ChatPosted",
    "CommandResult",
    "EngineStatus",
    "ListParticipants",
    "LiveParticipant",
    "ModerateParticipant",
    "ParticipantJoined",
    "ParticipantLeft",
    "ParticipantList",
    "ServerHeartbeat",
    "PresenceSeen",
    "IncomingCall",
    "CallDismissed",
    "StartDirectorySync",
]


class BusMessage(BaseModel):
    """Base of every bus message. ``subject`` names it on the wire; ``schema_version`` lets receivers evolve."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    subject: ClassVar[str]
    schema_version: ClassVar[int] = 1


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


class RegisterServer(BusMessage):
    """A starting server introduces itself to the manager with the cluster's join token."""

    subject: ClassVar[str] = "veche.server.register"
    server_id: str
    roles: list[str]
    host: str
    name: str
    region: str
    join_token: str
    software_version: str


class Registration(BusMessage):
    """The manager's answer: whether the server is approved, what it is called, and the shared settings."""

    subject: ClassVar[str] = "veche.server.registration"
    approved: bool
    name: str
    region: str
    max_participants: int
    draining: bool = False
    settings: dict[str, Any] = {}


class ServerCommand(BusMessage):
    """Manager to one server: "update" (approval, name, region, capacity, draining), "restart" or "shutdown"."""

    subject: ClassVar[str] = "veche.server.command"
    action: str
    approved: bool | None = None
    name: str | None = None
    region: str | None = None
    max_participants: int | None = None
    draining: bool | None = None


class SettingsChanged(BusMessage):
    """The manager's shared settings changed; every server applies them at once."""

    subject: ClassVar[str] = "veche.settings.changed"
    settings: dict[str, Any]


class ConferenceEnded(BusMessage):
    """The last participant left a conference on an app server; its placement is forgotten."""

    subject: ClassVar[str] = "veche.conference.ended"
    server_id: str
    conference_id: int


class Ping(BusMessage):
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


class ModerateParticipant(BusMessage):
    """Command to the app server running a conference: mute or remove a participant."""

    subject: ClassVar[str] = "veche.conference.moderate"
    conference_id: int
    participant: str
    action: str  # "mute" | "remove"
    by: str  # display name of the moderator


class ListParticipants(BusMessage):
    subject: ClassVar[str] = "veche.conference.participants"
    conference_id: int


class LiveParticipant(BaseModel):
    id: str
    display_name: str
    guest: bool
    role: str
    audio: bool
    video: bool
    force_muted: bool


class ParticipantList(BusMessage):
    subject: ClassVar[str] = "veche.conference.participants.reply"
    participants: list[LiveParticipant]


class CommandResult(BusMessage):
    subject: ClassVar[str] = "veche.command.result"
    ok: bool
    code: str = ""
    message: str = ""


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


class CallDismissed(BusMessage):
    """The callee declined an incoming call: every server stops showing it."""

    subject: ClassVar[str] = "veche.directory.call.dismissed"
    conference_id: int
    callee_id: int
    reason: str = "declined"


class StartDirectorySync(BusMessage):
    """Web to the base role: run a full sync of a directory source now (the console's "Sync now").

    Answered with ``CommandResult``: ``ok`` (code "started"), or code "already_running" / "not_found".
    ``request_id`` claims the sync in the shared database, so with several base servers exactly one runs it
    and the others stay silent.
    """

    subject: ClassVar[str] = "veche.directory.sync.start"
    source: str
    request_id: str
