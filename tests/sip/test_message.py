"""The SIP message parser: round trips, compact forms, folding, and exact refusals."""

from __future__ import annotations

import pytest

from veche.app.sip.message import (
    MAX_HEADERS,
    MalformedMessage,
    SipRequest,
    SipResponse,
    parse_message,
    readable_request,
)

OPTIONS = (
    b"OPTIONS sip:12345678@veche.example SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5061;branch=z9hG4bK-1, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK-0\r\n"
    b'f: "Room, 4" <sip:room4@pbx.example>;tag=a1\r\n'
    b"t: <sip:12345678@veche.example>\r\n"
    b"i: call-1@10.0.0.1\r\n"
    b"CSeq: 7 OPTIONS\r\n"
    b"Subject: a long\r\n"
    b"  folded line\r\n"
    b"l: 0\r\n\r\n"
)


def test_a_request_is_read_with_compact_forms_and_folded_lines() -> None:
    request = parse_message(OPTIONS)
    assert isinstance(request, SipRequest)
    assert (request.method, request.uri) == ("OPTIONS", "sip:12345678@veche.example")
    assert request.header("from") == '"Room, 4" <sip:room4@pbx.example>;tag=a1'
    assert request.call_id == "call-1@10.0.0.1"
    assert request.cseq == (7, "OPTIONS")
    assert request.all("Via") == ["SIP/2.0/UDP 10.0.0.1:5061;branch=z9hG4bK-1", "SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK-0"]
    assert request.branch == "z9hG4bK-1"
    assert request.header("Subject") == "a long folded line"
    assert request.can_be_answered()


def test_a_serialized_request_reads_back_the_same() -> None:
    request = parse_message(OPTIONS)
    assert parse_message(bytes(request)) == request


def test_a_response_round_trips_with_its_body_length() -> None:
    response = SipResponse(
        headers=[("Call-ID", "x"), ("Content-Type", "application/sdp")],
        status=488,
        reason="Not Acceptable Here",
        body=b"v=0\r\n",
    )
    data = bytes(response)
    assert data.startswith(b"SIP/2.0 488 Not Acceptable Here\r\n")
    assert b"Content-Length: 5\r\n" in data
    assert parse_message(data) == response


def test_over_udp_the_body_is_cut_at_content_length() -> None:
    message = parse_message(OPTIONS.replace(b"l: 0", b"l: 3") + b"abcdef")
    assert message.body == b"abc"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (OPTIONS[:-4], "the header section does not end with an empty line"),
        (OPTIONS.replace(b"l: 0", b"l: 12"), "Content-Length says 12 bytes, the body has 0"),
        (OPTIONS.replace(b"l: 0", b"l: -1"), "Content-Length '-1' is not a length"),
        (OPTIONS.replace(b"l: 0", b"l: zero"), "Content-Length 'zero' is not a length"),
        (OPTIONS.replace(b"CSeq: 7", b"CSeq 7"), "'CSeq 7 OPTIONS' is not a header field"),
        (OPTIONS.replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1), "unsupported version SIP/3.0"),
        (b"\xff\xfe garbage\r\n\r\n", "the header section is not UTF-8 text"),
        (b"hello world\r\n\r\n", "the first line is neither a request line nor a status line"),
        (OPTIONS.replace(b"Subject: a long", b"Subject: " + b"x" * 3000), "a header line is longer than 2048 bytes"),
        (
            OPTIONS.replace(b"l: 0\r\n", b"X-A: 1\r\n" * MAX_HEADERS + b"l: 0\r\n"),
            f"more than {MAX_HEADERS} header fields",
        ),
        (OPTIONS + b"x" * 20_000, "the message is longer than 16384 bytes"),
    ],
)
def test_what_cannot_be_read_is_refused_saying_why(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage) as refused:
        parse_message(data)
    assert refused.value.reason == reason


def test_a_refused_request_keeps_what_a_400_needs() -> None:
    with pytest.raises(MalformedMessage) as refused:
        parse_message(OPTIONS.replace(b"l: 0", b"l: 99"))
    request = refused.value.request
    assert request is not None and request.method == "OPTIONS" and request.can_be_answered()


def test_over_tcp_content_length_is_required() -> None:
    with pytest.raises(MalformedMessage, match="Content-Length is required over TCP"):
        parse_message(OPTIONS.replace(b"l: 0\r\n", b""), stream=True)


def test_a_cut_message_still_shows_its_request_line_and_whole_headers() -> None:
    request = readable_request(OPTIONS[: OPTIONS.index(b"CSeq") + 4])
    assert request is not None and request.method == "OPTIONS"
    assert request.header("Call-ID") == "call-1@10.0.0.1"
    assert readable_request(b"garbage") is None
