"""Janus as Veche's media engine: the child process, the WebSocket API client and the engine."""

from veche.app.janus.client import JanusClient, JanusConnectionLost, JanusError, JanusHandle, JanusSession
from veche.app.janus.engine import JanusMediaEngine
from veche.app.janus.process import JanusProcess, JanusStartError

__all__ = [
    "JanusClient",
    "JanusConnectionLost",
    "JanusError",
    "JanusHandle",
    "JanusMediaEngine",
    "JanusProcess",
    "JanusSession",
    "JanusStartError",
]
