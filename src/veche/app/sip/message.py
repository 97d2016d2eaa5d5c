"""SIP messages (RFC 3261 section 7): typed requests and responses, parsed strictly and serialized.

The parser refuses what it cannot read safely: more than ``max_bytes``, more than ``MAX_HEADERS`` header fields, a
header line over ``MAX_LINE_BYTES``, a Content-Length that is not a number or says more than the datagram holds,
bytes that are not UTF-8 in the head. A refusal is a :class:`MalformedMessage`; when the request line (and so the
method) could be read it carries the partial request, so the listener can answer 400 to a request that has the
headers a response needs (Via, From, To, Call-ID, CSeq). Neighbours: app/sip/sdp.py (bodies), transport.py (framing
over TCP), transactions.py (what answers what).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "MAX_HEADERS",
    "MAX_LINE_BYTES",
    "MalformedMessage",
    "SipRequest",
    "SipResponse",
    "content_length",
    "header_name",
    "parse_message",
    "readable_request",
    "split_head",
]

MAX_HEADERS = 64
MAX_LINE_BYTES = 2048
SIP_VERSION = "SIP/2.0"

# Compact forms (RFC 3261 section 7.3.3 and the registry) to their full names.
_COMPACT = {
    "v": "Via",
    "f": "From",
    "t": "To",
    "i": "Call-ID",
    "m": "Contact",
    "l": "Content-Length",
    "c": "Content-Type",
    "k": "Supported",
    "s": "Subject",
    "e": "Content-Encoding",
}
# Canonical spelling of the headers Veche reads or writes; others keep the sender's spelling.
_CANONICAL = {
    name.lower(): name
    for name in (
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Content-Length",
        "Content-Type",
        "Max-Forwards",
        "Allow",
        "Accept",
        "Supported",
        "User-Agent",
        "Server",
        "Reason",
        "Warning",
        "Subject",
        "Content-Encoding",
    )
}
_TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+")
_REQUEST_LINE = re.compile(r"([A-Za-z0-9.!%*_+`'~-]+) (\S+) (SIP/\d\.\d)")
_STATUS_LINE = re.compile(r"(SIP/\d\.\d) ([1-6]\d\d) ?(.*)")
_MULTI_VALUED = {"Via", "Contact", "Allow", "Accept", "Supported"}  # may be split on commas (not quoted ones)


class MalformedMessage(ValueError):
    """A message that cannot be read; ``request`` is what was read of it when its request line was readable."""

    def __init__(self, reason: str, request: SipRequest | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.request = request


def header_name(name: str) -> str:
    name = _COMPACT.get(name.lower(), name) if len(name) == 1 else name
    return _CANONICAL.get(name.lower(), name)


@dataclass
class _Message:
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any spelling), or None."""
        wanted = name.lower()
        return next((v for n, v in self.headers if n.lower() == wanted), None)

    def all(self, name: str) -> list[str]:
        """Every value of header ``name``, comma-separated ones split (for the headers that may be)."""
        wanted = name.lower()
        values = [v for n, v in self.headers if n.lower() == wanted]
        if header_name(name) in _MULTI_VALUED:
            return [part.strip() for v in values for part in _split_commas(v) if part.strip()]
        return values

    def _head_and_body(self, first_line: str) -> bytes:
        lines = [first_line]
        lines += [f"{n}: {v}" for n, v in self.headers if n.lower() != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class SipRequest(_Message):
    method: str = ""
    uri: str = ""

    def __bytes__(self) -> bytes:
        return self._head_and_body(f"{self.method} {self.uri} {SIP_VERSION}")

    @property
    def call_id(self) -> str:
        return self.header("Call-ID") or ""

    @property
    def cseq(self) -> tuple[int, str] | None:
        """(number, method) of the CSeq header, or None when it is missing or unreadable."""
        value = self.header("CSeq")
        if value is None:
            return None
        parts = value.split()
        if len(parts) != 2 or not parts[0].isdigit() or len(parts[0]) > 10:
            return None
        return int(parts[0]), parts[1]

    @property
    def branch(self) -> str:
        """The top Via's branch: it names the transaction (RFC 3261 section 17.2.3)."""
        vias = self.all("Via")
        if not vias:
            return ""
        match = re.search(r";\s*branch=([^;,\s]+)", vias[0], re.IGNORECASE)
        return match.group(1) if match else ""

    def can_be_answered(self) -> bool:
        """Whether it has what a response copies (RFC 3261 section 8.2.6.2)."""
        return bool(self.all("Via") and self.header("From") and self.header("To") and self.call_id and self.cseq)


@dataclass
class SipResponse(_Message):
    status: int = 200
    reason: str = "OK"

    def __bytes__(self) -> bytes:
        return self._head_and_body(f"{SIP_VERSION} {self.status} {self.reason}")


def _split_commas(value: str) -> list[str]:
    """Splits on commas outside quotes and angle brackets (a display name may hold a comma)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    angle = 0
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            angle += 1
        elif not quoted and ch == ">":
            angle = max(0, angle - 1)
        if ch == "," and not quoted and angle == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def split_head(data: bytes) -> tuple[bytes, bytes] | None:
    """(head, rest) at the first empty line, or None when the head is not complete yet."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    return data[:end], data[end + 4 :]


def content_length(headers: list[tuple[str, str]]) -> int | None:
    """The declared Content-Length (None when absent); :class:`MalformedMessage` when it is not a number."""
    values = [v for n, v in headers if n.lower() == "content-length"]
    if not values:
        return None
    if len(set(values)) > 1:
        raise MalformedMessage("Content-Length is given twice with different values")
    text = values[0].strip()
    if not text.isdigit() or len(text) > 6:
        raise MalformedMessage(f"Content-Length {text[:20]!r} is not a length")
    return int(text)


def parse_message(data: bytes, *, max_bytes: int = 16_384, stream: bool = False) -> SipRequest | SipResponse:
    """Parses one whole message. ``stream``: it came over TCP, so the body is exactly Content-Length bytes and
    Content-Length must be there; over UDP a missing one means the rest of the datagram (RFC 3261 section 18.3)."""
    if len(data) > max_bytes:
        raise MalformedMessage(f"the message is longer than {max_bytes} bytes", readable_request(data))
    data = data.lstrip(b"\r\n")  # keep-alive CRLFs before a message are allowed
    split = split_head(data)
    if split is None:
        raise MalformedMessage("the header section does not end with an empty line", readable_request(data))
    head, rest = split
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMessage("the header section is not UTF-8 text", readable_request(data)) from None
    lines = text.split("\r\n")
    first, header_lines = lines[0], lines[1:]
    message: SipRequest | SipResponse
    if status := _STATUS_LINE.fullmatch(first):
        if status.group(1) != SIP_VERSION:
            raise MalformedMessage(f"unsupported version {status.group(1)}")
        message = SipResponse(status=int(status.group(2)), reason=status.group(3))
    elif request := _REQUEST_LINE.fullmatch(first):
        if request.group(3) != SIP_VERSION:
            raise MalformedMessage(f"unsupported version {request.group(3)}")
        if len(first) > MAX_LINE_BYTES:
            raise MalformedMessage("the request line is too long")
        message = SipRequest(method=request.group(1).upper(), uri=request.group(2))
    else:
        raise MalformedMessage("the first line is neither a request line nor a status line")
    error = _read_headers(header_lines, message)
    if error is None:
        try:
            length = content_length(message.headers)
        except MalformedMessage as e:
            error = e.reason
        else:
            if length is None and stream:
                error = "Content-Length is required over TCP"
            elif length is not None and length > len(rest):
                error = f"Content-Length says {length} bytes, the body has {len(rest)}"
            else:
                message.body = rest if length is None else rest[:length]
                # The length is the body's own: kept there, and written again when the message is sent.
                message.headers = [(n, v) for n, v in message.headers if n != "Content-Length"]
    if error is not None:
        raise MalformedMessage(error, message if isinstance(message, SipRequest) else None)
    return message


def _read_headers(lines: list[str], message: SipRequest | SipResponse) -> str | None:
    """Fills ``message.headers``; the reason it stopped, or None. Folded lines (leading whitespace) continue."""
    for line in lines:
        if len(line) > MAX_LINE_BYTES:
            return f"a header line is longer than {MAX_LINE_BYTES} bytes"
        if line[:1] in (" ", "\t") and message.headers:
            name, value = message.headers[-1]
            message.headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not _TOKEN.fullmatch(name):
            return f"{line[:40]!r} is not a header field"
        if len(message.headers) >= MAX_HEADERS:
            return f"more than {MAX_HEADERS} header fields"
        if any(ord(ch) < 32 and ch != "\t" for ch in value):
            return f"header {name} holds control characters"
        message.headers.append((header_name(name), value.strip()))
    return None


def readable_request(data: bytes) -> SipRequest | None:
    """What can be read of a message refused early: its request line and the headers before the damage."""
    first_end = data.find(b"\r\n")
    if first_end < 0 or first_end > MAX_LINE_BYTES:
        return None
    try:
        first = data[:first_end].decode("utf-8")
    except UnicodeDecodeError:
        return None
    request = _REQUEST_LINE.fullmatch(first)
    if request is None or request.group(3) != SIP_VERSION:
        return None
    message = SipRequest(method=request.group(1).upper(), uri=request.group(2))
    head_end = data.find(b"\r\n\r\n")
    head = data[first_end + 2 : head_end if head_end >= 0 else len(data)]
    lines = head.decode("utf-8", errors="replace").split("\r\n")
    if head_end < 0 and lines:
        lines = lines[:-1]  # the last line may be cut in the middle
    for line in lines[:MAX_HEADERS]:
        if len(line) > MAX_LINE_BYTES:
            break
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.fullmatch(name.strip()):
            break
        message.headers.append((header_name(name.strip()), value.strip()))
    return message
