"""Helpers shared by Veche's tests and benchmarks: real servers started per run, synthetic clients."""

from .net import MEDIA_NETWORK_REASON, free_tcp_port, has_media_network
from .server import VecheServer, VecheServerError

__all__ = [
    "MEDIA_NETWORK_REASON",
    "VecheServer",
    "VecheServerError",
    "free_tcp_port",
    "has_media_network",
]
