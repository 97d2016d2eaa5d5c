"""SDP offers from SIP callers (RFC 4566, RFC 3264): what media they offer, and the audio codec Veche takes.

Only what the dial-in decision needs is read: the connection address, each media line with its port, protocol
and formats, and the rtpmap names. Anything that is not SDP is :class:`MalformedSdp` (the listener answers 400).
Veche takes Opus, then PCMU, then PCMA (the codecs a Janus VideoRoom audio stream carries to browsers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["AUDIO_CODECS", "MalformedSdp", "MediaOffer", "SdpOffer", "choose_audio_codec", "parse_sdp"]

MAX_SDP_BYTES = 8192
MAX_SDP_LINES = 200
MAX_MEDIA = 8
AUDIO_CODECS = ("opus", "PCMU", "PCMA")  # Veche's preference
_STATIC = {0: "PCMU", 8: "PCMA", 9: "G722"}  # static payload types (RFC 3551) a caller may offer without rtpmap
_LINE = re.compile(r"([a-z])=(.*)")
_MEDIA = re.compile(r"(audio|video|text|application|message|image) (\d{1,5})(?:/\d+)? (\S+)((?: \S+)*)")
_RTPMAP = re.compile(r"rtpmap:(\d{1,3}) ([A-Za-z0-9_.-]+)/(\d+)(?:/\d+)?")


class MalformedSdp(ValueError):
    pass


@dataclass
class MediaOffer:
    kind: str  # "audio", "video", ...
    port: int
    protocol: str  # "RTP/AVP", "RTP/SAVP", ...
    formats: list[str]
    rtpmap: dict[int, str] = field(default_factory=dict)  # payload type -> encoding name

    def codecs(self) -> dict[str, int]:
        """Encoding name (as offered) -> its payload type, for the RTP formats of this line."""
        named: dict[str, int] = {}
        for fmt in self.formats:
            if not fmt.isdigit():
                continue
            pt = int(fmt)
            name = self.rtpmap.get(pt) or _STATIC.get(pt)
            if name is not None:
                named.setdefault(name, pt)
        return named


@dataclass
class SdpOffer:
    connection: str  # the session's c= address ("" when only media lines carry one)
    media: list[MediaOffer]


def parse_sdp(body: bytes) -> SdpOffer:
    if len(body) > MAX_SDP_BYTES:
        raise MalformedSdp(f"the SDP is longer than {MAX_SDP_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedSdp("the SDP is not UTF-8 text") from None
    lines = [line for line in re.split(r"\r?\n", text) if line]
    if len(lines) > MAX_SDP_LINES:
        raise MalformedSdp(f"the SDP has more than {MAX_SDP_LINES} lines")
    if not lines or lines[0] != "v=0":
        raise MalformedSdp("the SDP does not start with v=0")
    connection = ""
    media: list[MediaOffer] = []
    for line in lines[1:]:
        match = _LINE.fullmatch(line)
        if match is None:
            raise MalformedSdp(f"{line[:40]!r} is not an SDP line")
        kind, value = match.groups()
        if kind == "m":
            m = _MEDIA.fullmatch(value)
            if m is None:
                raise MalformedSdp(f"media line {value[:40]!r} cannot be read")
            if len(media) >= MAX_MEDIA:
                raise MalformedSdp(f"more than {MAX_MEDIA} media lines")
            port = int(m.group(2))
            if port > 65535:
                raise MalformedSdp(f"port {port} is not a port")
            media.append(MediaOffer(m.group(1), port, m.group(3), m.group(4).split()))
        elif kind == "c" and not media:
            connection = _address(value)
        elif kind == "a" and media and (rtpmap := _RTPMAP.fullmatch(value)):
            pt = int(rtpmap.group(1))
            if pt > 127:
                raise MalformedSdp(f"payload type {pt} is not one")
            media[-1].rtpmap[pt] = rtpmap.group(2)
    if not media:
        raise MalformedSdp("the SDP offers no media")
    return SdpOffer(connection=connection, media=media)


def _address(value: str) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise MalformedSdp(f"connection line {value[:40]!r} cannot be read")
    return parts[2]


def choose_audio_codec(offer: SdpOffer) -> tuple[str, int] | None:
    """(codec, payload type) of the first audio line Veche can take (plain or SRTP-less RTP, a port that is not 0),
    by Veche's preference; None when the caller offers none of them."""
    for m in offer.media:
        if m.kind != "audio" or m.port == 0 or m.protocol != "RTP/AVP":
            continue
        offered = {name.lower(): pt for name, pt in m.codecs().items()}
        for codec in AUDIO_CODECS:
            if codec.lower() in offered:
                return codec, offered[codec.lower()]
    return None
