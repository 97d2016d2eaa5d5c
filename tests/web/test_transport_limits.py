"""The signaling socket's limits on the real transport: ``veche up`` (uvicorn) and the ``websockets`` client.

The TestClient of tests/web/test_input_hardening.py bypasses uvicorn, which reads the frames; these tests start the
real server (it runs Janus: inside the test network namespace, ``scripts/netns-run``).
"""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import Literal

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.server import VecheServer
from veche.app.pending_joins import MAX_PENDING_PER_ADDRESS
from veche.app.signal_messages import MAX_MESSAGE_BYTES

pytestmark = pytest.mark.janus


def _ws_url(server: VecheServer) -> str:
    return server.url.replace("http://", "ws://", 1) + "/ws/v1"


async def _close_code(ws: ClientConnection) -> int | None:
    """Read until the server closes; the code of its close frame (None: the connection dropped without one)."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await ws.recv()
    return closed.value.rcvd.code if closed.value.rcvd is not None else None


@pytest.mark.parametrize("compression", [None, "deflate"])
async def test_a_frame_above_the_protocol_limit_closes_with_1009(
    veche_server: VecheServer, compression: Literal["deflate"] | None
) -> None:
    # Compressed, the frame is tiny on the wire: the limit applies to what it decompresses to.
    async with connect(_ws_url(veche_server), compression=compression) as ws:
        try:
            await ws.send("x" * (MAX_MESSAGE_BYTES + 1))
        except ConnectionClosed:
            pass  # the server may close before the client has written it all
        assert await _close_code(ws) == 1009
    assert veche_server.health()["status"] == "ok"


async def test_a_frame_within_the_limit_reaches_the_protocol(veche_server: VecheServer) -> None:
    join = {"type": "join", "v": 1, "ticket": "forged.ticket", "id": 1, "padding": ""}
    join["padding"] = "x" * (MAX_MESSAGE_BYTES - len(json.dumps(join).encode()))
    frame = json.dumps(join)
    assert len(frame.encode()) == MAX_MESSAGE_BYTES
    async with connect(_ws_url(veche_server), compression=None) as ws:
        await ws.send(frame)
        error = json.loads(await ws.recv())
        assert error["code"] == "invalid_ticket" and error["id"] == 1
        assert await _close_code(ws) == 4000


async def test_sockets_that_have_not_joined_are_capped_per_address(veche_server: VecheServer) -> None:
    async with AsyncExitStack() as stack:
        waiting = [
            await stack.enter_async_context(connect(_ws_url(veche_server))) for _ in range(MAX_PENDING_PER_ADDRESS)
        ]
        assert all(ws.close_code is None for ws in waiting)  # counted before the handshake completed
        async with connect(_ws_url(veche_server)) as refused:
            assert await _close_code(refused) == 1013
            assert refused.close_reason is not None and "not joined" in refused.close_reason
    assert veche_server.health()["status"] == "ok"
