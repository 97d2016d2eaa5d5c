"""The manager's registry: join tokens, pending until approved, edits kept, commands to dead servers refused."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.eventually import eventually
from veche.bus.inproc import InProcessBus
from veche.bus.messages import RegisterServer, ServerHeartbeat
from veche.domain.errors import InvalidInput, NotFound, Unavailable
from veche.manager.registry import ServerRegistry
from veche.manager.server_admin import ServerAdmin
from veche.node.agent import NodeState, ServerAgent
from veche.storage.cluster import ServerCatalogStore, SharedSettingsStore
from veche.storage.database import Database


@pytest.fixture
async def admin(tmp_path: Path) -> AsyncIterator[tuple[ServerAdmin, InProcessBus]]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await db.migrate()
    bus = InProcessBus("manager-1")
    yield await make_admin(db, bus, own_server_id="manager-1"), bus
    await db.close()


async def make_admin(db: Database, bus: InProcessBus, *, own_server_id: str) -> ServerAdmin:
    server_admin = ServerAdmin(
        bus,
        ServerRegistry(bus),
        ServerCatalogStore(db.sessions),
        SharedSettingsStore(db.sessions),
        lambda: datetime(2026, 11, 28, tzinfo=UTC),
        join_token="s3cret",
        auto_approve=False,
        own_server_id=own_server_id,
        handles_registration=True,
    )
    await server_admin.start()
    return server_admin


def register(server_id: str, token: str = "s3cret") -> RegisterServer:
    return RegisterServer(
        server_id=server_id, roles=["app"], host="h1", name="", region="eu", join_token=token, software_version="0"
    )


async def test_wrong_join_token_is_refused(admin: tuple[ServerAdmin, InProcessBus]) -> None:
    server_admin, bus = admin
    reply = await bus.request(register("app-1", token="guess"))
    assert reply.refusal == "The join token is wrong." and not reply.approved
    assert await server_admin.servers() == []


async def test_new_server_is_pending_until_approved_and_learns_settings(
    admin: tuple[ServerAdmin, InProcessBus],
) -> None:
    server_admin, bus = admin
    await server_admin.update_settings({"domain": "veche.example.org"})
    reply = await bus.request(register("app-1"))
    assert not reply.approved and not reply.refusal
    assert reply.settings.domain == "veche.example.org" and reply.settings.revision == 1
    [info] = await server_admin.servers()
    assert info.status == "pending" and info.entry.name == "h1 (app)"
    # The server is not heard on this bus: the approval is recorded, and it learns it when it registers again.
    with pytest.raises(NotFound):
        await server_admin.update("nope", approved=True)
    await server_admin.update("app-1", approved=True, name="Москва-1", region="ru", max_participants=300)
    again = await bus.request(register("app-1"))
    assert again.approved and again.name == "Москва-1" and again.region == "ru"
    assert again.max_participants == 300


async def test_commands_to_a_dead_server_fail_clearly(admin: tuple[ServerAdmin, InProcessBus]) -> None:
    server_admin, bus = admin
    await bus.request(register("app-1"))
    with pytest.raises(Unavailable, match="Server app-1 did not acknowledge “restart”"):
        await server_admin.lifecycle("app-1", "restart")
    with pytest.raises(InvalidInput):
        await server_admin.lifecycle("app-1", "explode")
    with pytest.raises(InvalidInput, match="1–128"):
        await server_admin.update("app-1", name="")
    await server_admin.remove("app-1")
    assert await server_admin.servers() == []


def beat(server_id: str, state: str) -> ServerHeartbeat:
    return ServerHeartbeat(
        server_id=server_id,
        roles=["app"],
        software_version="0",
        host="h1",
        pid=1,
        sent_at=time.time(),
        state=state,
        signaling_url="ws://h1/ws/v1",
    )


async def test_an_approved_server_is_up_once_it_says_so(admin: tuple[ServerAdmin, InProcessBus]) -> None:
    """Placement goes by the state each server announces: until an approved server has learnt it (its
    registration answer on its way), the console says pending, as placement treats it."""
    server_admin, bus = admin
    await bus.request(register("app-1"))
    await server_admin.update("app-1", approved=True)
    await bus.publish(beat("app-1", "pending"))
    await eventually(statuses(server_admin), lambda now: now == ["pending"], timeout=5, interval=0.01)
    await bus.publish(beat("app-1", "up"))
    await eventually(statuses(server_admin), lambda now: now == ["up"], timeout=5, interval=0.01)


def statuses(server_admin: ServerAdmin) -> Callable[[], Awaitable[list[str]]]:
    async def probe() -> list[str]:
        return [i.status for i in await server_admin.servers()]

    return probe


async def test_approval_and_restart_reach_a_live_server_and_the_console_shows_its_new_state(tmp_path: Path) -> None:
    """The console's answer to "approve" already says up: the server's acknowledgement carries its new state."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await db.migrate()
    bus = InProcessBus("app-1")  # the manager runs elsewhere: this server is not approved by itself
    server_admin = await make_admin(db, bus, own_server_id="manager-1")
    agent = ServerAgent(
        bus, server_id="app-1", roles=["app"], data_dir=tmp_path, join_token="s3cret", defaults=NodeState()
    )
    asked: list[str] = []
    agent.lifecycle = asked.append
    await agent.start(manager_here=True)
    try:
        await eventually(statuses(server_admin), lambda now: now == ["pending"], timeout=5, interval=0.01)
        info = await server_admin.update("app-1", approved=True, name="Москва-1")
        assert info.status == "up" and info.heartbeat is not None and info.heartbeat.name == "Москва-1"
        assert agent.state.approved and agent.state.name == "Москва-1"
        reply = await server_admin.lifecycle("app-1", "restart")
        assert reply.ok and reply.message == "app-1 will restart"
        await eventually(lambda: _value(asked), lambda now: now == ["restart"], timeout=5, interval=0.05)
    finally:
        await agent.stop()
        await bus.close()
        await db.close()


async def _value(items: list[str]) -> list[str]:
    return list(items)
