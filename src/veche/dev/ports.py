"""Free TCP ports on this machine."""

from __future__ import annotations

import socket

__all__ = ["free_tcp_port"]

_handed_out: set[int] = set()  # by this process: the kernel may offer a port again once its probe socket closes


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago (the kernel picks it), never one this process was given
    before: a cluster started here asks for several ports before any of its servers binds them."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port
