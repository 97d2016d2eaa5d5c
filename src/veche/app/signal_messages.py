"""Client-to-server messages of the signaling protocol, version 1 (docs/protocol.md).

Parsing is strict: an unknown ``type`` or a missing field is a ``bad_request`` with a message saying what is wrong.
Server-to-client messages are plain dicts built by :mod:`veche.app.conference_room` (documented in the same page).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

__all__ = [
    "PROTOCOL_VERSION",
    "Chat",
    "ClientMessage",
    "Hand",
    "Join",
    "Leave",
    "Moderate",
    "Ping",
    "Publish",
    "SignalError",
    "State",
    "Subscribe",
    "SubscriptionAnswer",
    "Substream",
    "Unpublish",
    "Unsubscribe",
    "parse_client_message",
]

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 256 * 1024
MAX_SDP = 64 * 1024

Source = Literal["camera", "screen"]
VideoCodecName = Literal["vp8", "vp9", "h264", "av1"]
# What Chromium sends for VP9 SVC; Janus relays any of these, Veche picks layers 0-2 of each dimension.
ScalabilityMode = Literal["L1T2", "L1T3", "L2T2", "L2T3", "L3T3", "L2T2_KEY", "L2T3_KEY", "L3T3_KEY"]


class SignalError(Exception):
    """A request failed; ``code`` is from the protocol's error list, the message is for people."""

    def __init__(self, code: str, message: str, request_id: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    id: int | None = None


class Join(_Message):
    type: Literal["join"]
    v: int
    ticket: str = Field(max_length=8192)
    # The video codecs this client can decode (RTCRtpReceiver.getCapabilities); omitted: VP8 and VP9.
    video_codecs: list[VideoCodecName] | None = Field(default=None, max_length=8)


class Publish(_Message):
    type: Literal["publish"]
    source: Source
    sdp: str = Field(min_length=1, max_length=MAX_SDP)
    # The camera is offered as one VP9 encoding with SVC layers (else: simulcast or a single stream).
    scalability_mode: ScalabilityMode | None = None


class Unpublish(_Message):
    type: Literal["unpublish"]
    source: Source


class Subscribe(_Message):
    type: Literal["subscribe"]
    feed: int


class SubscriptionAnswer(_Message):
    type: Literal["subscription_answer"]
    feed: int
    sdp: str = Field(min_length=1, max_length=MAX_SDP)


class Unsubscribe(_Message):
    type: Literal["unsubscribe"]
    feed: int


class Substream(_Message):
    type: Literal["substream"]
    feed: int
    substream: int = Field(ge=0, le=2)


class State(_Message):
    type: Literal["state"]
    audio: bool
    video: bool


class Chat(_Message):
    type: Literal["chat"]
    text: str = Field(min_length=1, max_length=4000)


class Hand(_Message):
    """Raise (or lower) my own hand: I ask to speak."""

    type: Literal["hand"]
    raised: bool


class Moderate(_Message):
    type: Literal["moderate"]
    participant: str
    action: Literal["mute", "remove", "readmit", "make_speaker", "make_listener", "lower_hand"]


class Leave(_Message):
    type: Literal["leave"]


class Ping(_Message):
    type: Literal["ping"]


ClientMessage = Annotated[
    Join
    | Publish
    | Unpublish
    | Subscribe
    | SubscriptionAnswer
    | Unsubscribe
    | Substream
    | State
    | Chat
    | Hand
    | Moderate
    | Leave
    | Ping,
    Field(discriminator="type"),
]
_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


def parse_client_message(raw: str | bytes) -> tuple[int | None, ClientMessage]:
    """Parse one frame. Raises :class:`SignalError` ``bad_request``; returns the request id when one was readable."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise SignalError("bad_request", f"Message larger than {MAX_MESSAGE_BYTES} bytes.")
    try:
        data: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise SignalError("bad_request", "Message is not valid JSON.") from e
    if not isinstance(data, dict):
        raise SignalError("bad_request", "Message must be a JSON object.")
    request_id = data.get("id") if isinstance(data.get("id"), int) else None
    try:
        return request_id, _adapter.validate_python(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise SignalError("bad_request", f"Invalid {where}: {first['msg']}.", request_id) from e
