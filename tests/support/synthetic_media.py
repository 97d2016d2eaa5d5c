"""Synthetic camera and microphone for aiortc clients.

Two kinds of camera:

- :class:`LiveCamera` makes moving 640x360 frames and a 440 Hz tone that aiortc encodes (VP8, Opus)
  in real time, as a browser would. About 15 % of a core per publisher.
- :class:`ReplayCamera` replays a clip encoded once (:func:`encode_clip`) as ready-made VP8/Opus
  packets, so many publishers cost almost nothing on the client side. A keyframe request (PLI/FIR)
  from Janus restarts the clip at its first frame, which is a keyframe. Benchmarks use it.
"""

from __future__ import annotations

import array
import asyncio
import fractions
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

import av
from aiortc import RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

__all__ = [
    "CameraSource",
    "EncodedClip",
    "LiveCamera",
    "ReplayCamera",
    "encode_clip",
]

WIDTH = 640
HEIGHT = 360
FPS = 30
VIDEO_CLOCK = 90_000
AUDIO_RATE = 48_000
AUDIO_PTIME_S = 0.020
TONE_HZ = 440.0


class CameraSource(Protocol):
    """Makes a fresh (video, audio) track pair for each publish (a republish needs new tracks)."""

    def tracks(self) -> tuple[MediaStreamTrack, MediaStreamTrack]: ...

    def bind(self, video_sender: RTCRtpSender) -> None:
        """Called once the tracks were added to a peer connection."""


class _Pacer:
    """Releases media at its real-time pace: the n-th unit at start + n * period."""

    def __init__(self, period_s: float) -> None:
        self._period = period_s
        self._start: float | None = None
        self._count = 0

    async def next(self) -> int:
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._count += 1
            delay = self._start + self._count * self._period - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        return self._count


class _MovingPattern:
    """YUV 4:2:0 frames of diagonal stripes that scroll 4 px per frame (built from byte slices)."""

    _PERIOD = 48  # stripes 24 px wide: the image repeats every 48 px along a row

    def __init__(self, width: int = WIDTH, height: int = HEIGHT) -> None:
        self.width = width
        self.height = height
        span = width + self._PERIOD
        self._line = bytes(200 if (x // (self._PERIOD // 2)) % 2 else 50 for x in range(span))

    def frame(self, index: int) -> av.VideoFrame:
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        luma, cb, cr = frame.planes
        shift = index * 4
        pad = b"\0" * (luma.line_size - self.width)
        rows = []
        for y in range(self.height):
            offset = (y + shift) % self._PERIOD
            rows.append(self._line[offset : offset + self.width] + pad)
        luma.update(b"".join(rows))
        # A blue-ish left half and a red-ish right half, so the picture is not grey.
        half = cb.line_size // 2
        cb.update((b"\xa0" * half + b"\x60" * (cb.line_size - half)) * (self.height // 2))
        cr.update((b"\x60" * half + b"\xa0" * (cr.line_size - half)) * (self.height // 2))
        return frame


def _tone_second() -> bytes:
    """One second of a 440 Hz sine, s16 mono: exactly 440 periods, so it loops without a click."""
    samples = array.array(
        "h", (int(8000 * math.sin(2 * math.pi * TONE_HZ * n / AUDIO_RATE)) for n in range(AUDIO_RATE))
    )
    return samples.tobytes()


_TONE = _tone_second()
_TONE_TWICE = _TONE + _TONE  # so a chunk that wraps around is one slice


def _tone(index: int, samples: int, channels: int = 1) -> av.AudioFrame:
    """The ``index``-th chunk of ``samples`` samples of the tone, as an s16 frame."""
    start = (index * samples * 2) % len(_TONE)
    chunk = _TONE_TWICE[start : start + samples * 2]
    if channels == 2:
        mono = array.array("h", chunk)
        stereo = array.array("h", (value for value in mono for _ in (0, 1)))
        chunk = stereo.tobytes()
    frame = av.AudioFrame(format="s16", layout="mono" if channels == 1 else "stereo", samples=samples)
    plane = frame.planes[0]
    plane.update(chunk + b"\0" * (plane.buffer_size - len(chunk)))
    frame.sample_rate = AUDIO_RATE
    return frame


class MovingVideoTrack(MediaStreamTrack):
    """640x360 moving stripes at 30 fps, encoded by aiortc."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._pattern = _MovingPattern()
        self._pacer = _Pacer(1 / FPS)

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.next()
        frame = self._pattern.frame(index)
        frame.pts = index * (VIDEO_CLOCK // FPS)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return frame


class ToneAudioTrack(MediaStreamTrack):
    """A 440 Hz sine, 48 kHz mono, 20 ms frames, encoded by aiortc."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pacer = _Pacer(AUDIO_PTIME_S)
        self._samples = int(AUDIO_RATE * AUDIO_PTIME_S)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.next()
        frame = _tone(index, self._samples)
        frame.pts = index * self._samples
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        return frame


class LiveCamera:
    """Moving video and a tone, encoded live by aiortc (the realistic, CPU-hungry publisher)."""

    def tracks(self) -> tuple[MediaStreamTrack, MediaStreamTrack]:
        return MovingVideoTrack(), ToneAudioTrack()

    def bind(self, video_sender: RTCRtpSender) -> None:
        """aiortc's own encoder honours keyframe requests: nothing to do."""


@dataclass(frozen=True)
class EncodedClip:
    """A short looping clip: VP8 frames (the first one a keyframe) and Opus packets."""

    video: tuple[bytes, ...]
    audio: tuple[bytes, ...]
    video_bitrate_bps: int


def encode_clip(seconds: float = 2.0, video_bitrate_bps: int = 600_000) -> EncodedClip:
    """Encode ``seconds`` of the moving pattern (VP8, keyframe each second) and tone (Opus) once."""
    frames = int(seconds * FPS)
    pattern = _MovingPattern()
    vp8 = av.CodecContext.create("libvpx", "w")
    vp8.width = WIDTH
    vp8.height = HEIGHT
    vp8.pix_fmt = "yuv420p"
    vp8.time_base = fractions.Fraction(1, FPS)
    vp8.framerate = fractions.Fraction(FPS, 1)
    vp8.bit_rate = video_bitrate_bps
    vp8.gop_size = FPS
    vp8.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    video: list[bytes] = []
    for index in range(frames):
        frame = pattern.frame(index)
        frame.pts = index
        frame.time_base = vp8.time_base
        video.extend(bytes(packet) for packet in vp8.encode(frame))
    video.extend(bytes(packet) for packet in vp8.encode(None))

    opus = av.CodecContext.create("libopus", "w")
    opus.sample_rate = AUDIO_RATE
    opus.layout = "stereo"
    opus.format = "s16"
    opus.bit_rate = 48_000
    opus.time_base = fractions.Fraction(1, AUDIO_RATE)
    samples = int(AUDIO_RATE * AUDIO_PTIME_S)
    audio: list[bytes] = []
    for index in range(int(seconds / AUDIO_PTIME_S)):
        sound = _tone(index, samples, channels=2)
        sound.pts = index * samples
        sound.time_base = opus.time_base
        audio.extend(bytes(packet) for packet in opus.encode(sound))
    return EncodedClip(video=tuple(video), audio=tuple(audio), video_bitrate_bps=video_bitrate_bps)


class _ReplayVideoTrack(MediaStreamTrack):
    """Loops a clip's VP8 frames as packets; restarts at the keyframe when Janus asks for one."""

    kind = "video"

    def __init__(self, frames: tuple[bytes, ...]) -> None:
        super().__init__()
        self._frames = frames
        self._pacer = _Pacer(1 / FPS)
        self._position = 0
        self._keyframe_requested = False

    def request_keyframe(self) -> None:
        self._keyframe_requested = True

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.next()
        if self._keyframe_requested:
            self._keyframe_requested = False
            self._position = 0
        packet = av.Packet(self._frames[self._position])
        self._position = (self._position + 1) % len(self._frames)
        packet.pts = index * (VIDEO_CLOCK // FPS)
        packet.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return packet


class _ReplayAudioTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, packets: tuple[bytes, ...]) -> None:
        super().__init__()
        self._packets = packets
        self._pacer = _Pacer(AUDIO_PTIME_S)
        self._samples = int(AUDIO_RATE * AUDIO_PTIME_S)

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.next()
        packet = av.Packet(self._packets[index % len(self._packets)])
        packet.pts = index * self._samples
        packet.time_base = fractions.Fraction(1, AUDIO_RATE)
        return packet


class ReplayCamera:
    """Publishes a pre-encoded :class:`EncodedClip`; near-zero client CPU, real bitrate for Janus."""

    def __init__(self, clip: EncodedClip) -> None:
        self._clip = clip
        self._video: _ReplayVideoTrack | None = None

    def tracks(self) -> tuple[MediaStreamTrack, MediaStreamTrack]:
        self._video = _ReplayVideoTrack(self._clip.video)
        return self._video, _ReplayAudioTrack(self._clip.audio)

    def bind(self, video_sender: RTCRtpSender) -> None:
        """Route the sender's keyframe requests (PLI/FIR from Janus) to the replay track."""
        video = self._video
        if video is None:
            return
        original = video_sender._send_keyframe

        def send_keyframe() -> None:
            video.request_keyframe()
            original()

        video_sender._send_keyframe = send_keyframe  # type: ignore[method-assign]
