"""Reading callers' SDP offers and choosing the audio codec."""

from __future__ import annotations

import pytest

from veche.app.sip.sdp import MalformedSdp, choose_audio_codec, parse_sdp


def offer(media: str) -> bytes:
    return ("v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n" + media).encode()


def test_static_payload_types_need_no_rtpmap() -> None:
    sdp = parse_sdp(offer("m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"))
    assert sdp.connection == "10.0.0.9"
    assert sdp.media[0].codecs() == {"PCMA": 8, "PCMU": 0, "telephone-event": 101}
    assert choose_audio_codec(sdp) == ("PCMU", 0)  # Veche's order, not the caller's


def test_opus_is_preferred_by_name() -> None:
    sdp = parse_sdp(offer("m=audio 4000 RTP/AVP 0 111\r\na=rtpmap:111 opus/48000/2\r\n"))
    assert choose_audio_codec(sdp) == ("opus", 111)


@pytest.mark.parametrize(
    "media",
    [
        "m=audio 4000 RTP/AVP 9 18\r\na=rtpmap:18 G729/8000\r\n",  # G.722 and G.729 only
        "m=audio 0 RTP/AVP 0\r\n",  # the stream is refused by the caller itself
        "m=audio 4000 RTP/SAVP 0\r\n",  # SRTP is not taken yet
        "m=video 4002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n",
    ],
)
def test_no_common_audio_codec(media: str) -> None:
    assert choose_audio_codec(parse_sdp(offer(media))) is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "the SDP does not start with v=0"),
        (b"hello", "the SDP does not start with v=0"),
        (offer("m=audio x RTP/AVP 0\r\n"), "media line 'audio x RTP/AVP 0' cannot be read"),
        (offer("m=audio 70000 RTP/AVP 0\r\n"), "port 70000 is not a port"),
        (offer("garbage\r\n"), "'garbage' is not an SDP line"),
        (b"v=0\r\ns=-\r\n", "the SDP offers no media"),
        (b"v=0\r\nc=IN XY 1\r\nm=audio 1 RTP/AVP 0\r\n", "connection line 'IN XY 1' cannot be read"),
        (b"v=0\r\n" + b"a=x\r\n" * 300, "the SDP has more than 200 lines"),
        (b"\xff", "the SDP is not UTF-8 text"),
    ],
)
def test_what_is_not_sdp_is_refused(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedSdp) as refused:
        parse_sdp(body)
    assert str(refused.value) == reason
