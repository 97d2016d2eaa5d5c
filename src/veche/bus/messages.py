"""Every message that crosses the bus between roles: a declared, typed, versioned class.

Events are published to everyone who listens; commands are requests answered by exactly one server.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

__all__ = [
    "BusMessage",
    "ChatPosted",
    "CommandResult",
    "EngineStatus",
    "ListParticipants",
    "LiveParticipant",
    "ModerateParticipant",
    "ParticipantList",
    "ServerHeartbeat",
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


class ServerHeartbeat(BusMessage):
    """Every server, every second: who it is and how it is doing."""

    subject: ClassVar[str] = "veche.server.heartbeat"
    server_id: str
    roles: list[str]
    software_version: str
    host: str
    pid: int
    sent_at: float
    media_engine: EngineStatus | None = None
    conferences: int = 0
    participants: int = 0


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
