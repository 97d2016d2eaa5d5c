"""What the Janus engine remembers of each room, publisher and subscription (one plugin handle each).

Plain records plus the reading of Janus's publisher events; the engine (:mod:`veche.app.janus.engine`) drives them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from veche.app.janus.client import JanusHandle
from veche.domain.layers import LayerChoice
from veche.domain.model import VideoCodec

__all__ = ["Publisher", "Room", "Subscription", "stream_mids", "video_stream"]


@dataclass
class Room:
    secret: str
    max_publishers: int
    bitrate_bps: int
    video_codec: VideoCodec = VideoCodec.VP8


@dataclass(eq=False)
class Publisher:
    room: int
    feed: int
    handle: JanusHandle
    audio_mids: list[str] = field(default_factory=list)
    video_mids: list[str] = field(default_factory=list)
    audio_muted: bool = False
    video_muted: bool = False
    svc: bool = False  # the video is one SVC encoding (layers picked with spatial_layer/temporal_layer)
    simulcast: bool = False  # the video is several simulcast encodings (layers picked with substream)
    # Janus refuses subscriptions to a publisher until its PeerConnection is up ("webrtcup"), so
    # subscribe() waits for ``settled``: set on webrtcup, on hangup and when the feed is forgotten.
    hung_up: bool = False
    closed: bool = False
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    def close(self) -> None:
        self.closed = True
        self.settled.set()


@dataclass(eq=False)
class Subscription:
    room: int
    subscription: int
    feed: int
    handle: JanusHandle
    video_mids: list[str] = field(default_factory=list)
    svc: bool = False  # the feed is VP9 SVC: layers are spatial layers, reached only at a keyframe
    layered: bool = False  # SVC or simulcast: a switch to another layer happens only at a keyframe
    layer_target: int = 2  # what Janus targets for a new subscription
    layer_current: int | None = None  # as Janus last reported it (spatial_layer events)
    layer_reached: asyncio.Event = field(default_factory=asyncio.Event)
    keyframe_task: asyncio.Task[None] | None = None
    choice: LayerChoice = field(default_factory=LayerChoice)  # the tile's layer, capped while packets are lost
    recovery: asyncio.TimerHandle | None = None

    def close(self) -> None:
        if self.keyframe_task is not None:
            self.keyframe_task.cancel()
        if self.recovery is not None:
            self.recovery.cancel()


def video_stream(data: dict[str, Any], *, own_feed: int) -> tuple[str | None, bool, bool]:
    """(codec, SVC?, simulcast?) of the first video stream in a publisher's joined/configured event."""
    streams = data.get("streams")
    if not isinstance(streams, list) or data.get("id", own_feed) != own_feed:
        return None, False, False
    for stream in streams:
        if isinstance(stream, dict) and stream.get("type") == "video" and not stream.get("disabled"):
            codec = stream.get("codec")
            name = str(codec).lower() if codec else None
            return name, bool(stream.get("svc")), bool(stream.get("simulcast"))
    return None, False, False


def stream_mids(data: dict[str, Any], *, own_feed: int) -> dict[str, list[str]]:
    """Mids by kind from the ``streams`` Janus may include in a publisher's joined/configured event."""
    streams = data.get("streams")
    if not isinstance(streams, list) or data.get("id", own_feed) != own_feed:
        return {}
    result: dict[str, list[str]] = {}
    for stream in streams:
        if isinstance(stream, dict) and "mid" in stream and not stream.get("disabled"):
            result.setdefault(str(stream.get("type")), []).append(str(stream["mid"]))
    return result
