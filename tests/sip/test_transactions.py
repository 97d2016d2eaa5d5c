"""Server transactions without a network: retransmissions, ACK, CANCEL, and resent requests."""

from __future__ import annotations

import asyncio

from tests.sip.test_fuzz import request
from tests.support.eventually import eventually
from veche.app.admission import CountedAdmission
from veche.app.sip.dial_in import DialIn
from veche.app.sip.directory import DialInTarget, FixedDirectory
from veche.app.sip.message import SipResponse, parse_message
from veche.app.sip.transactions import ServerTransactions

PCMU_SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"


class Peer:
    def __init__(self) -> None:
        self.received: list[SipResponse] = []

    def __call__(self, data: bytes) -> None:
        message = parse_message(data)
        assert isinstance(message, SipResponse)
        self.received.append(message)

    def statuses(self) -> list[int]:
        return [r.status for r in self.received]


class SlowDirectory(FixedDirectory):
    """Answers only once ``go`` is set: a call can be cancelled while Veche decides."""

    def __init__(self) -> None:
        super().__init__({"12345678": DialInTarget(1, "Weekly")})
        self.go = asyncio.Event()

    async def find(self, number: str, *, pin: str = "", caller: str = "") -> DialInTarget | None:
        await self.go.wait()
        return await super().find(number, pin=pin, caller=caller)


def ack_for(invite: bytes, final: SipResponse) -> bytes:
    text = invite.split(b"\r\n\r\n")[0].decode()
    text = text.replace("INVITE sip:", "ACK sip:", 1).replace("CSeq: 1 INVITE", "CSeq: 1 ACK")
    text = text.replace("Content-Type: application/sdp\r\n", "")
    to = next(v for n, v in final.headers if n == "To")
    lines = [f"To: {to}" if line.startswith("To:") else line for line in text.split("\r\n")]
    lines = [line for line in lines if not line.startswith("Content-Length")]
    return ("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode()


async def test_a_final_answer_over_udp_is_resent_until_the_ack() -> None:
    transactions = ServerTransactions(DialIn(FixedDirectory(), CountedAdmission()), t1_s=0.01)
    peer = Peer()
    invite = request("INVITE", "c1", body=PCMU_SDP)
    transactions.receive(invite, peer, False)
    await eventually(lambda: asyncio.sleep(0, peer.statuses()), lambda s: s.count(404) >= 3, what="resent 404s")
    assert peer.statuses()[0] == 100
    transactions.receive(ack_for(invite, peer.received[-1]), peer, False)
    after_ack = len(peer.received)
    transactions.receive(request("OPTIONS", "later"), peer, False)  # something that surely comes after
    await eventually(lambda: asyncio.sleep(0.05, peer.statuses()), lambda s: s[-1] == 200, what="the OPTIONS answer")
    assert peer.statuses()[after_ack:] == [200]  # no 404 after the ACK
    await transactions.close()


async def test_over_tcp_the_final_answer_is_sent_once() -> None:
    transactions = ServerTransactions(DialIn(FixedDirectory(), CountedAdmission()), t1_s=0.01)
    tcp, udp = Peer(), Peer()
    transactions.receive(request("INVITE", "c2", body=PCMU_SDP), tcp, True)
    transactions.receive(request("INVITE", "c2u", body=PCMU_SDP), udp, False)
    # By the time the UDP caller has its answer three times, the TCP one still has it once.
    await eventually(lambda: asyncio.sleep(0, udp.statuses()), lambda s: s.count(404) >= 3, what="resent 404s")
    assert tcp.statuses() == [100, 404]
    await transactions.close()


async def test_a_resent_invite_gets_the_same_answer_not_a_second_decision() -> None:
    admission = CountedAdmission()
    transactions = ServerTransactions(DialIn(FixedDirectory({"12345678": DialInTarget(1, "W")}), admission))
    peer = Peer()
    invite = request("INVITE", "c3", body=PCMU_SDP)
    transactions.receive(invite, peer, True)
    await eventually(lambda: asyncio.sleep(0, peer.statuses()), lambda s: 480 in s, what="the 480")
    transactions.receive(invite, peer, True)
    assert peer.statuses() == [100, 480, 480]
    assert transactions.figures.invites == 1
    await transactions.close()


async def test_cancel_while_deciding_answers_200_and_487_and_the_late_decision_is_dropped() -> None:
    directory = SlowDirectory()
    transactions = ServerTransactions(DialIn(directory, CountedAdmission()), t1_s=0.01)
    peer = Peer()
    invite = request("INVITE", "c4", body=PCMU_SDP)
    transactions.receive(invite, peer, True)
    cancel = invite.replace(b"INVITE sip:", b"CANCEL sip:", 1).replace(b"CSeq: 1 INVITE", b"CSeq: 1 CANCEL")
    cancel = cancel.split(b"Content-Type")[0] + b"Content-Length: 0\r\n\r\n"
    transactions.receive(cancel, peer, True)
    assert peer.statuses() == [100, 200, 487]
    directory.go.set()
    transactions.receive(request("OPTIONS", "later"), peer, True)
    await eventually(lambda: asyncio.sleep(0.01, peer.statuses()), lambda s: s[-1] == 200, what="OPTIONS")
    assert 480 not in peer.statuses()
    await transactions.close()


async def test_bye_outside_a_call_is_481_and_register_is_405() -> None:
    transactions = ServerTransactions(DialIn(FixedDirectory(), CountedAdmission()))
    peer = Peer()
    transactions.receive(request("BYE", "c5"), peer, False)
    transactions.receive(request("REGISTER", "c6"), peer, False)
    assert peer.statuses() == [481, 405]
    assert peer.received[1].header("Allow") == "INVITE, ACK, BYE, CANCEL, OPTIONS"
    await transactions.close()
