"""Janus's admin API, only to read the media counters of a handle (``handle_info``) for the call history.

The admin API listens on its own 127.0.0.1 port of the Janus child (:mod:`veche.app.janus.config_files`) and takes
the API secret as its admin secret. One connection, opened on first use and again after it broke; one request at a
time (the call history reads a handful of handles every few seconds). :func:`counters_of` reads Janus's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException
from websockets.typing import Subprotocol

from veche.domain.call_history import MediaCounters

__all__ = ["JanusAdmin", "JanusAdminError", "counters_of"]

logger = logging.getLogger(__name__)

ADMIN_SUBPROTOCOL = "janus-admin-protocol"


class JanusAdminError(Exception):
    """The admin API could not be reached or refused the request."""


class JanusAdmin:
    def __init__(self, url: str, secret: str, *, timeout_s: float = 2.0) -> None:
        self.url = url
        self._secret = secret
        self._timeout_s = timeout_s
        self._ws: ClientConnection | None = None
        self._lock = asyncio.Lock()

    async def handle_info(self, session_id: int, handle_id: int) -> dict[str, Any]:
        """The ``info`` Janus gives of one handle; raises :class:`JanusAdminError`."""
        request = {"janus": "handle_info", "session_id": session_id, "handle_id": handle_id}
        reply = await self._request(request)
        info = reply.get("info")
        if not isinstance(info, dict):
            raise JanusAdminError("handle_info without info")
        return info

    async def close(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()

    async def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            transaction = secrets.token_hex(8)
            payload = json.dumps(dict(message, transaction=transaction, admin_secret=self._secret))
            try:
                async with asyncio.timeout(self._timeout_s):
                    ws = await self._connection()
                    await ws.send(payload)
                    while True:
                        reply = json.loads(await ws.recv())
                        if isinstance(reply, dict) and reply.get("transaction") == transaction:
                            break
            except (OSError, TimeoutError, WebSocketException, ValueError) as exc:
                await self.close()
                raise JanusAdminError(f"the Janus admin API did not answer: {exc or type(exc).__name__}") from exc
        if reply.get("janus") != "success":
            error = reply.get("error") or {}
            raise JanusAdminError(str(error.get("reason", "refused")))
        return dict(reply)

    async def _connection(self) -> ClientConnection:
        if self._ws is None:
            self._ws = await connect(
                self.url, subprotocols=[Subprotocol(ADMIN_SUBPROTOCOL)], max_size=None, compression=None
            )
        return self._ws


def _number(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def counters_of(info: dict[str, Any]) -> tuple[MediaCounters, MediaCounters]:
    """(what the handle received, what it sent) from a ``handle_info`` (Janus 1.x: ``webrtc.media.<index>`` with
    ``stats.in``/``stats.out`` and ``rtcp.<layer>``): packets and bytes of every medium and simulcast layer, and the
    packets lost each way as RTCP says (``lost``: by Janus receiving, ``lost-by-remote``: by the peer). The first
    has only ``*_in`` fields, the second only ``*_out`` ones."""
    media = (info.get("webrtc") or {}).get("media") or {}
    got = sent = MediaCounters()
    for medium in media.values() if isinstance(media, dict) else ():
        if not isinstance(medium, dict):
            continue
        stats = medium.get("stats") or {}
        packets_in, bytes_in = _totals(stats.get("in") if isinstance(stats, dict) else None)
        packets_out, bytes_out = _totals(stats.get("out") if isinstance(stats, dict) else None)
        lost_in = lost_out = 0
        rtcp = medium.get("rtcp") or {}
        for layer in rtcp.values() if isinstance(rtcp, dict) else ():
            if isinstance(layer, dict):
                lost_in += _number(layer.get("lost"))
                lost_out += _number(layer.get("lost-by-remote"))
        got = got + MediaCounters(bytes_in=bytes_in, packets_in=packets_in, lost_in=lost_in)
        sent = sent + MediaCounters(bytes_out=bytes_out, packets_out=packets_out, lost_out=lost_out)
    return got, sent


def _totals(stats: Any) -> tuple[int, int]:
    """(packets, bytes) of one direction: every ``*packets*`` and ``*bytes*`` count but the per-second rates."""
    packets = octets = 0
    if isinstance(stats, dict):
        for key, value in stats.items():
            if "lastsec" in key:
                continue
            if "packets" in key:
                packets += _number(value)
            elif "bytes" in key:
                octets += _number(value)
    return packets, octets
