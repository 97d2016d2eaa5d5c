"""A bounded fuzz of malformed SIP over UDP and TCP: 400 where a request line and the headers a response copies
were readable, silence otherwise, no crash, nothing held afterwards, and OPTIONS still answered 200."""

from __future__ import annotations

import asyncio
import functools
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.sip.conftest import NUMBER, SipUnderTest
from veche.app.sip.message import SipResponse, parse_message
from veche.domain.license_pools import Pool

SEED = 13
PATIENCE_S = 10.0  # a bound on waiting for an answer that must come, not a timing assertion


def request(method: str, call_id: str, *, body: bytes = b"", extra: str = "", length: str | None = None) -> bytes:
    head = (
        f"{method} sip:{NUMBER}@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-{secrets.token_hex(6)}\r\n"
        "From: <sip:fuzz@127.0.0.1>;tag=f1\r\n"
        f"To: <sip:{NUMBER}@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: 1 {method}\r\n"
        f"{extra}"
        "Max-Forwards: 70\r\n"
        + ("Content-Type: application/sdp\r\n" if body else "")
        + f"Content-Length: {len(body) if length is None else length}\r\n\r\n"
    )
    return head.encode() + body


def invite_with(sdp: bytes, call_id: str) -> bytes:
    return request("INVITE", call_id, body=sdp)


def cut_options(at: int, call_id: str) -> bytes:
    return request("OPTIONS", call_id)[: at + len(call_id) - len("placeholder")]


def garbage(noise: bytes, call_id: str) -> bytes:
    return call_id.encode() + b" " + noise


@dataclass
class Case:
    name: str
    data: bytes
    call_id: str
    answered: bool  # a 400 is due (else nothing may come back for this Call-ID)
    invite: bool = False  # a 100 Trying comes first


def cases(rng: random.Random) -> list[Case]:
    found: list[Case] = []

    def add(name: str, build: Callable[[str], bytes], answered: bool, invite: bool = False) -> None:
        call_id = f"fuzz-{len(found)}-{secrets.token_hex(4)}"
        found.append(Case(name, build(call_id), call_id, answered, invite))

    # Broken after the headers a response needs: 400.
    add("letters as length", lambda c: request("OPTIONS", c, length="ten"), True)
    add("negative length", lambda c: request("OPTIONS", c, length="-5"), True)
    add("length past the end", lambda c: request("OPTIONS", c, length="400"), True)
    add("huge header", lambda c: request("OPTIONS", c, extra="X-Big: " + "a" * 5000 + "\r\n"), True)
    add("too many headers", lambda c: request("OPTIONS", c, extra="X-N: 1\r\n" * 80), True)
    add("control characters", lambda c: request("OPTIONS", c, extra="X-C: a\x01b\r\n"), True)
    add("no colon", lambda c: request("OPTIONS", c, extra="just words\r\n"), True)
    add("oversized", lambda c: request("OPTIONS", c, extra=("X-Pad: " + "p" * 1000 + "\r\n") * 20), True)
    add("CSeq of another method", lambda c: request("OPTIONS", c).replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 BYE"), True)
    for n in range(15):  # bad SDP in an INVITE to a real number: 100 Trying, then 400
        junk = rng.choice([b"", b"v=1\r\n", b"v=0\r\nm=audio x\r\n", b"v=0\r\nc=IN IP4\r\nm=audio 1 RTP/AVP 0\r\n"])
        junk += bytes(rng.randrange(256) for _ in range(rng.randrange(0, 60)))
        if not junk:
            junk = b"\x00"
        add(f"bad sdp {n}", functools.partial(invite_with, junk), True, invite=True)
    # Cut messages: answered only when every header a response needs is whole.
    for n in range(40):
        whole = request("OPTIONS", "placeholder")
        needed_end = whole.index(b"\r\n", whole.index(b"CSeq:")) + 2
        cut = rng.randrange(1, len(whole) - 4)
        add(
            f"cut {n} at {cut}",
            functools.partial(cut_options, cut),
            cut >= needed_end,
        )
    # Garbage with no request line: silence.
    for n in range(40):
        size = rng.randrange(1, 3000)
        noise = bytes(rng.randrange(256) for _ in range(size))
        add(f"garbage {n}", functools.partial(garbage, noise), False)
    add("status line", lambda c: b"SIP/2.0 200 OK\r\nCall-ID: " + c.encode() + b"\r\n\r\n", False)
    add("http", lambda c: f"GET /{c} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), False)
    add("nul request line", lambda c: b"OPTIONS\x00 sip:x SIP/2.0\r\nCall-ID: " + c.encode() + b"\r\n\r\n", False)
    return found


def responses_for(datagrams: list[bytes], call_id: str) -> list[SipResponse]:
    found = []
    for data in datagrams:
        message = parse_message(data)  # every answer Veche sends is well-formed SIP
        assert isinstance(message, SipResponse)
        if message.header("Call-ID") == call_id:
            found.append(message)
    return found


class UdpPeer(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.received.put_nowait(data)


async def until_answered(peer: UdpPeer, call_id: str, status: int) -> list[bytes]:
    """Every datagram until the one answering ``call_id`` with ``status``."""
    seen: list[bytes] = []
    while True:
        data = await asyncio.wait_for(peer.received.get(), PATIENCE_S)
        seen.append(data)
        if responses_for([data], call_id) and responses_for([data], call_id)[0].status == status:
            return seen


async def test_udp_fuzz(sip: SipUnderTest) -> None:
    loop = asyncio.get_running_loop()
    transport, peer = await loop.create_datagram_endpoint(UdpPeer, remote_addr=("127.0.0.1", sip.port))
    try:
        for case in cases(random.Random(SEED)):
            transport.sendto(case.data)
            if case.answered:
                seen = await until_answered(peer, case.call_id, 400)
                statuses = [r.status for r in responses_for(seen, case.call_id)]
                assert statuses == ([100, 400] if case.invite else [400]), case.name
                assert b"Warning: 399 veche" in seen[-1], case.name
            # The listener still answers, and said nothing to a message it could not answer.
            probe = f"probe-{case.call_id}"
            transport.sendto(request("OPTIONS", probe))
            seen = await until_answered(peer, probe, 200)
            assert responses_for(seen, case.call_id) == [], case.name
    finally:
        transport.close()
    assert sip.listener.transactions.figures.malformed >= 60
    assert sip.admission.in_use.get(Pool.GATEWAY, 0) == 0


async def tcp_exchange(port: int, data: bytes) -> list[bytes]:
    """Sends ``data`` on a new connection, ends the sending side, and reads what comes until the listener closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    writer.write_eof()
    received = b""
    while chunk := await asyncio.wait_for(reader.read(65536), PATIENCE_S):
        received += chunk
    writer.close()
    messages = []
    while received:  # the listener's answers, each with its Content-Length
        head, _, rest = received.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.startswith(b"Content-Length")))
        messages.append(head + b"\r\n\r\n" + rest[:length])
        received = rest[length:]
    return messages


async def test_tcp_fuzz(sip: SipUnderTest) -> None:
    for case in cases(random.Random(SEED + 1)):
        seen = await tcp_exchange(sip.port, case.data)
        statuses = [r.status for r in responses_for(seen, case.call_id)]
        if case.answered:
            assert statuses == ([100, 400] if case.invite else [400]), case.name
        else:
            assert statuses == [], case.name
    seen = await tcp_exchange(sip.port, request("OPTIONS", "probe-after-tcp-fuzz"))
    assert [r.status for r in responses_for(seen, "probe-after-tcp-fuzz")] == [200]


@pytest.mark.parametrize("size", [1, 100, 2000])
async def test_a_message_sent_in_pieces_over_tcp_is_one_message(sip: SipUnderTest, size: int) -> None:
    data = request("OPTIONS", "pieces") * 2  # one message and its retransmission on one connection, in pieces
    reader, writer = await asyncio.open_connection("127.0.0.1", sip.port)
    for start in range(0, len(data), size):
        writer.write(data[start : start + size])
        await writer.drain()
    writer.write_eof()
    received = b""
    while chunk := await asyncio.wait_for(reader.read(65536), PATIENCE_S):
        received += chunk
    writer.close()
    first, second = received.split(b"\r\n\r\n")[:2]
    assert first.startswith(b"SIP/2.0 200 OK") and second == first  # the same answer to the same request
