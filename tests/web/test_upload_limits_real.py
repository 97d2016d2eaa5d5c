"""The upload size limit on the real transport (``veche up``, uvicorn): a file over the limit is refused before
it has been sent, whether the request declares its length or streams it in chunks.

The TestClient of tests/web/test_api_files.py hands the app the whole body at once; this server reads the socket.
It runs Janus, so it runs inside the test network namespace (``scripts/netns-run``).
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.support.server import VecheServer

pytestmark = pytest.mark.janus

LIMIT_MB = 1
BOUNDARY = "veche-test-boundary"


@pytest.fixture(scope="module")
def small_limit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VecheServer]:
    server = VecheServer.start(
        root=tmp_path_factory.mktemp("files-server"), env={"VECHE_FILES__MAX_SIZE_MB": str(LIMIT_MB)}
    )
    try:
        yield server
    finally:
        server.stop()


def _chat(server: VecheServer) -> str:
    conference = server.api("POST", "/api/v1/conferences", server.admin_token, json={"name": "Files"}).json()
    return f"conference:{conference['id']}"


def _head(server: VecheServer, chat: str, framing: str) -> bytes:
    host = urlsplit(server.url).netloc
    return (
        f"POST /api/v1/chats/{chat}/files HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {server.admin_token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n{framing}\r\n"
    ).encode()


def _preamble() -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()


def _response(sock: socket.socket) -> tuple[int, str]:
    data = b""
    while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + _length(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body.decode()


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


def test_a_declared_length_over_the_limit_is_refused_before_the_body(small_limit_server: VecheServer) -> None:
    server = small_limit_server
    chat = _chat(server)
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(_head(server, chat, f"Content-Length: {50 * 1_000_000}\r\n"))  # and not one byte of it
        status, body = _response(sock)
    assert status == 413
    assert "The file is larger than the limit of 1 MB; it was not sent." in body


def test_a_streamed_file_over_the_limit_is_cut_off_while_it_arrives(small_limit_server: VecheServer) -> None:
    server = small_limit_server
    chat = _chat(server)
    address = urlsplit(server.url)
    total = 50 * 1_000_000
    sent = 0
    piece = b"x" * 65536
    answer: tuple[int, str] | None = None
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(_head(server, chat, "Transfer-Encoding: chunked\r\n"))
        preamble = _preamble()
        sock.sendall(b"%x\r\n%s\r\n" % (len(preamble), preamble))
        try:
            while sent < total:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:  # the server answered before the end: stop sending, read why
                    answer = _response(sock)
                    break
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection on the rest of the file
        if answer is None:
            try:
                answer = _response(sock)
            except (ConnectionResetError, ValueError, IndexError):
                answer = None
    assert sent < total / 2, f"the server read {sent} bytes of a file over the {LIMIT_MB} MB limit"
    if answer is not None:  # a reset may swallow the answer; when it arrives it says why
        assert answer[0] == 413 and "larger than the limit of 1 MB" in answer[1]
