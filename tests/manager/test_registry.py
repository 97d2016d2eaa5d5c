from __future__ import annotations

from veche.bus.inproc import InProcessBus
from veche.bus.messages import ServerHeartbeat
from veche.manager.registry import ServerRegistry


def heartbeat(server_id: str) -> ServerHeartbeat:
    return ServerHeartbeat(
        server_id=server_id, roles=["app"], software_version="0.1.0", host="h", pid=1, sent_at=0.0, participants=3
    )


async def test_server_missing_three_heartbeats_is_down() -> None:
    now = [100.0]
    bus = InProcessBus()
    registry = ServerRegistry(bus, clock_s=lambda: now[0])
    await bus.publish(heartbeat("a"))
    await bus.publish(heartbeat("b"))
    await bus.wait_delivered()  # heard at 100.0 on the registry's clock, before it moves on
    now[0] = 102.5
    await bus.publish(heartbeat("b"))
    await bus.wait_delivered()
    assert {v.heartbeat.server_id: v.status for v in registry.servers()} == {"a": "up", "b": "up"}
    now[0] = 103.0
    assert {v.heartbeat.server_id: v.status for v in registry.servers()} == {"a": "down", "b": "up"}
