"""Veche refuses a Janus older than it supports, with a message that says which and what to do."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.server import ServerConnection, serve

from veche.app.janus.engine import JanusMediaEngine
from veche.app.janus.version import MIN_JANUS_VERSION, JanusTooOld, check_engine_version, parse_version
from veche.config.janus import JanusConfig


def test_versions_are_read_from_the_string_or_the_number() -> None:
    assert parse_version("1.4.1") == (1, 4, 1)
    assert parse_version("1.10.0-rc1") == (1, 10, 0)
    assert parse_version("unknown") is None
    assert check_engine_version({"version_string": "1.4.1", "version": 1401}, where="x") == "1.4.1"
    assert check_engine_version({"version": 1402}, where="x") == "1.4.2"


@pytest.mark.parametrize("info", [{"version_string": "1.1.2", "version": 1102}, {"version": 1399}, {}])
def test_an_old_or_unnamed_engine_is_refused_with_what_to_do(info: dict[str, object]) -> None:
    with pytest.raises(JanusTooOld) as caught:
        check_engine_version(info, where="/usr/bin/janus")
    message = str(caught.value)
    wanted = ".".join(map(str, MIN_JANUS_VERSION))
    assert f"older than {wanted}" in message and "/usr/bin/janus" in message
    assert "./scripts/up" in message and "janus.binary" in message


@pytest.fixture
async def old_janus() -> AsyncIterator[str]:
    """A WebSocket server that answers Janus's ``info`` as Debian 12's Janus 1.1.2 does."""

    async def handler(socket: ServerConnection) -> None:
        async for raw in socket:
            request = json.loads(raw)
            await socket.send(
                json.dumps(
                    {
                        "janus": "server_info",
                        "transaction": request.get("transaction"),
                        "name": "Janus WebRTC Server",
                        "version": 1102,
                        "version_string": "1.1.2",
                        "plugins": {"janus.plugin.videoroom": {}},
                    }
                )
            )

    async with serve(handler, "127.0.0.1", 0, subprotocols=["janus-protocol"]) as server:  # type: ignore[list-item]
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


async def test_veche_does_not_start_on_an_old_external_janus(old_janus: str, tmp_path: Path) -> None:
    engine = JanusMediaEngine(JanusConfig(ws_url=old_janus), tmp_path)
    with pytest.raises(JanusTooOld, match=r"Janus 1\.1\.2 at ws://127\.0\.0\.1:\d+ is older than 1\.4\.0"):
        await engine.start()
    assert not (await engine.info()).up
