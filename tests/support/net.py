"""Local network facts the tests depend on: free ports and whether media can flow.

Janus 1.1.2 never offers loopback ICE candidates, so tests that send media need a non-loopback
IPv4 address. ``scripts/test`` runs pytest inside a private network namespace (``scripts/netns-run``)
that has one (10.77.0.1 on a veth pair); a plain ``pytest`` outside it may not.
"""

from __future__ import annotations

import socket

import psutil

from veche.dev.ports import free_tcp_port

__all__ = ["MEDIA_NETWORK_REASON", "free_tcp_port", "has_media_network", "media_addresses"]  # free_tcp_port re-exported

MEDIA_NETWORK_REASON = (
    "needs a non-loopback IPv4 address for Janus ICE (Janus 1.1.2 never uses loopback); "
    "run the tests through scripts/test or scripts/netns-run"
)


def media_addresses() -> list[str]:
    """Every IPv4 address outside 127.0.0.0/8 on an interface that is up."""
    stats = psutil.net_if_stats()
    found: list[str] = []
    for name, addresses in psutil.net_if_addrs().items():
        if name in stats and not stats[name].isup:
            continue
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                found.append(address.address)
    return found


def has_media_network() -> bool:
    """True when a non-loopback IPv4 address exists, so Janus and clients can exchange media."""
    return bool(media_addresses())
