"""Server transactions (RFC 3261 section 17.2): what Veche answers each request, once, and again when it is resent.

- INVITE: 100 Trying at once, then the dial-in decision (app/sip/dial_in.py) as the final response; over UDP that
  response is sent again at T1, 2·T1, ... (at most T2 apart) until the ACK comes or 64·T1 passed. A CANCEL before
  the decision gets 200, and the INVITE 487.
- OPTIONS: 200 with Allow and Accept. BYE: 481 (Veche holds no dialog until calls carry audio). Other methods: 405.
- A request that is resent (same top-Via branch and method) gets the same response again, not a new decision.
- A request that cannot be read gets 400 when it has what a response needs; else it is dropped (and counted).

Responses go back over the transport the request came on (``Reply``), to the address it came from.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from veche.app.sip.dial_in import Answer, DialIn
from veche.app.sip.message import MalformedMessage, SipRequest, SipResponse, parse_message, readable_request

__all__ = ["ALLOWED_METHODS", "Reply", "ServerTransactions", "SipFigures", "response_to"]

logger = logging.getLogger(__name__)

Reply = Callable[[bytes], None]
ALLOWED_METHODS = "INVITE, ACK, BYE, CANCEL, OPTIONS"
MAX_TRANSACTIONS = 10_000  # held at once (each lives 64·T1); more are answered 503
T2_S = 4.0


@dataclass
class SipFigures:
    """What the listener has seen, for logs and tests."""

    received: int = 0
    malformed: int = 0
    dropped: int = 0  # could not even be answered 400
    invites: int = 0


def response_to(
    request: SipRequest, status: int, reason: str, *, to_tag: str = "", warning: str = "", server: str = "Veche"
) -> SipResponse:
    """A response copying what RFC 3261 section 8.2.6.2 says it copies; ``warning`` in plain words (399)."""
    headers: list[tuple[str, str]] = [("Via", via) for via in request.all("Via")]
    headers.append(("From", request.header("From") or ""))
    to = request.header("To") or ""
    if to_tag and status > 100 and ";tag=" not in to.lower().replace(" ", ""):
        to = f"{to};tag={to_tag}"
    headers.append(("To", to))
    headers.append(("Call-ID", request.call_id))
    headers.append(("CSeq", request.header("CSeq") or ""))
    headers.append(("Server", server))
    if warning:
        quoted = warning.replace("\\", "\\\\").replace('"', '\\"')
        headers.append(("Warning", f'399 veche "{quoted}"'))
    return SipResponse(headers=headers, status=status, reason=reason)


@dataclass
class _Transaction:
    request: SipRequest
    reply: Reply
    stream: bool = False
    to_tag: str = field(default_factory=lambda: secrets.token_hex(6))
    last: bytes = b""
    final: bool = False
    acked: bool = False
    cancelled: bool = False
    timers: list[asyncio.TimerHandle] = field(default_factory=list)

    def send(self, response: SipResponse) -> None:
        self.last = bytes(response)
        self.reply(self.last)


class ServerTransactions:
    def __init__(self, dial_in: DialIn, *, t1_s: float = 0.5, max_message_bytes: int = 16_384) -> None:
        self._dial_in = dial_in
        self._t1_s = t1_s
        self._max_bytes = max_message_bytes
        self._transactions: dict[tuple[str, str], _Transaction] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.figures = SipFigures()

    @property
    def open_transactions(self) -> int:
        return len(self._transactions)

    def receive(self, data: bytes, reply: Reply, stream: bool, peer: str = "") -> None:
        """One whole message from a transport (a datagram, or a framed message over TCP) from address ``peer``."""
        self.figures.received += 1
        if not data.strip(b"\r\n"):
            return  # a keep-alive (RFC 5626): nothing to answer
        try:
            message = parse_message(data, max_bytes=self._max_bytes, stream=stream)
        except MalformedMessage as e:
            self.figures.malformed += 1
            self._refuse_malformed(e, reply)
            return
        if isinstance(message, SipResponse):
            return  # Veche sends no requests yet: a response is not ours
        cseq = message.cseq
        if not message.can_be_answered() or cseq is None:
            self.figures.malformed += 1
            self._refuse_malformed(MalformedMessage("a header a response needs is missing", message), reply)
            return
        if cseq[1].upper() != message.method:
            self._answer_once(message, reply, 400, "Bad Request", "The CSeq method is not the request's method.")
            return
        if message.method == "ACK":
            self._ack(message)
        elif message.method == "CANCEL":
            self._cancel(message, reply)
        elif message.method == "INVITE":
            self._invite(message, reply, stream=stream, peer=peer)
        elif message.method == "OPTIONS":
            self._answer_once(
                message, reply, 200, "OK", extra=[("Allow", ALLOWED_METHODS), ("Accept", "application/sdp")]
            )
        elif message.method == "BYE":
            self._answer_once(message, reply, 481, "Call/Transaction Does Not Exist", "There is no such call here.")
        else:
            self._answer_once(
                message,
                reply,
                405,
                "Method Not Allowed",
                f"Veche does not take {message.method[:32]} requests.",
                extra=[("Allow", ALLOWED_METHODS)],
            )

    def receive_unframed(self, data: bytes, reason: str, reply: Reply) -> None:
        """What came over TCP that is no whole message (cut, too long, no Content-Length): 400 where it can."""
        self.figures.received += 1
        self.figures.malformed += 1
        self._refuse_malformed(MalformedMessage(reason, readable_request(data)), reply)

    async def close(self) -> None:
        for transaction in self._transactions.values():
            for timer in transaction.timers:
                timer.cancel()
        self._transactions.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- requests ------------------------------------------------------------------------------------------

    @staticmethod
    def _key(request: SipRequest, method: str) -> tuple[str, str]:
        branch = request.branch
        if branch.startswith("z9hG4bK"):
            return branch, method
        # An RFC 2543 peer: no magic cookie, so the transaction is its Call-ID, CSeq number and top Via.
        cseq = request.cseq
        vias = request.all("Via")
        return f"{request.call_id}|{cseq[0] if cseq else ''}|{vias[0] if vias else ''}", method

    def _refuse_malformed(self, error: MalformedMessage, reply: Reply) -> None:
        request = error.request
        if request is None or request.method == "ACK" or not request.can_be_answered():
            self.figures.dropped += 1
            logger.debug("SIP message dropped: %s", error.reason)
            return
        reply(bytes(response_to(request, 400, "Bad Request", warning=f"The request cannot be read: {error.reason}.")))

    def _answer_once(
        self,
        request: SipRequest,
        reply: Reply,
        status: int,
        reason: str,
        warning: str = "",
        *,
        extra: list[tuple[str, str]] | None = None,
    ) -> None:
        key = self._key(request, request.method)
        known = self._transactions.get(key)
        if known is not None:
            if known.last:
                reply(known.last)  # a retransmission: the same answer again
            return
        if len(self._transactions) >= MAX_TRANSACTIONS:
            reply(bytes(response_to(request, 503, "Service Unavailable", warning="Too many requests at once.")))
            return
        transaction = _Transaction(request, reply)
        response = response_to(request, status, reason, to_tag=transaction.to_tag, warning=warning)
        response.headers.extend(extra or [])
        transaction.send(response)
        transaction.final = True
        self._hold(key, transaction)

    def _hold(self, key: tuple[str, str], transaction: _Transaction) -> None:
        """Keep the transaction 64·T1 to absorb retransmissions (Timers H and J), then forget it."""
        self._transactions[key] = transaction
        loop = asyncio.get_running_loop()
        transaction.timers.append(loop.call_later(64 * self._t1_s, self._forget, key))

    def _forget(self, key: tuple[str, str]) -> None:
        transaction = self._transactions.pop(key, None)
        if transaction is not None:
            for timer in transaction.timers:
                timer.cancel()

    def _invite(self, request: SipRequest, reply: Reply, *, stream: bool, peer: str) -> None:
        key = self._key(request, "INVITE")
        known = self._transactions.get(key)
        if known is not None:
            if known.last:
                reply(known.last)  # 100 Trying or the final response again
            return
        if len(self._transactions) >= MAX_TRANSACTIONS:
            reply(bytes(response_to(request, 503, "Service Unavailable", warning="Too many calls at once.")))
            return
        self.figures.invites += 1
        transaction = _Transaction(request, reply, stream)
        transaction.send(response_to(request, 100, "Trying"))
        self._hold(key, transaction)
        task = asyncio.get_running_loop().create_task(self._decide(transaction, peer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _decide(self, transaction: _Transaction, peer: str) -> None:
        try:
            answer = await self._dial_in.answer(transaction.request, peer)
        except Exception:
            logger.exception("SIP call from %s: the decision failed", transaction.request.header("From"))
            answer = Answer(500, "Server Internal Error", "Veche could not take the call.")
        if transaction.cancelled:
            return  # already answered 487
        self._final(transaction, answer.status, answer.reason, answer.text)

    def _final(self, transaction: _Transaction, status: int, reason: str, warning: str = "") -> None:
        transaction.final = True
        transaction.send(response_to(transaction.request, status, reason, to_tag=transaction.to_tag, warning=warning))
        if not transaction.stream and status >= 300:
            self._retransmit(transaction, self._t1_s)

    def _retransmit(self, transaction: _Transaction, interval: float) -> None:
        def again() -> None:
            if transaction.acked:
                return
            transaction.reply(transaction.last)
            self._retransmit(transaction, min(interval * 2, T2_S))

        transaction.timers.append(asyncio.get_running_loop().call_later(interval, again))

    def _ack(self, request: SipRequest) -> None:
        transaction = self._transactions.get(self._key(request, "INVITE"))
        if transaction is not None and transaction.final:
            transaction.acked = True

    def _cancel(self, request: SipRequest, reply: Reply) -> None:
        invite = self._transactions.get(self._key(request, "INVITE"))
        if invite is None or invite.final:
            self._answer_once(request, reply, 481, "Call/Transaction Does Not Exist", "There is no call to cancel.")
            return
        self._answer_once(request, reply, 200, "OK")
        invite.cancelled = True
        self._final(invite, 487, "Request Terminated")
