"""Kill -9 one node of the three-node NATS cluster while a conference runs, people join and chat: the processes
reconnect to the other nodes, the call goes on, joins and logins keep working, and GET /api/v1/components shows
the node down, then up again after its restart. Figures printed (no timed assertion)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ha.components_cluster import NatsHa, nats_states, process_states, start_nats_ha
from tests.support.eventually import eventually

pytestmark = pytest.mark.janus


@pytest.fixture(scope="module")
def ha(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsHa]:
    yield from start_nats_ha(Path(tmp_path_factory.mktemp("components-nats")))


async def test_the_admin_sees_every_process_the_primary_and_three_nats_nodes(ha: NatsHa) -> None:
    rows = await ha.components()
    processes = {r["name"]: r for r in rows if r["kind"] in ("manager", "base", "web", "app")}
    assert {name: (r["kind"], r["state"], r["active"]) for name, r in processes.items()} == {
        "manager": ("manager", "up", True),
        "base": ("base", "up", True),
        "web": ("web", "up", True),
        "app-1": ("app", "up", True),
    }
    [database] = [r for r in rows if r["kind"] == "database"]
    assert (database["role"], database["state"], database["active"]) == ("primary", "up", True)
    assert nats_states(rows) == {ha.nats_address(i): "up" for i in range(3)}
    assert sum("connected here" in r["detail"] for r in rows if r["kind"] == "nats") == 1

    _, anna = ha.user("anna")
    refused = ha.call("GET", "/components", anna)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert ha.call("GET", "/components").status_code == 401


async def test_a_nats_node_killed_during_a_call_is_shown_down_then_up(ha: NatsHa) -> None:
    _, bob = ha.user("bob")
    created = ha.call("POST", "/conferences", ha.admin, json={"name": "Through a NATS crash", "access": "open"})
    assert created.status_code == 201, created.text
    conference_id = int(created.json()["id"])
    bob_in = await ha.join(conference_id, bob, "bob")
    await bob_in.send_chat("before the crash")

    # The node the web server uses: its requests (joins, logins through base) must move to another node.
    rows = await ha.components()
    used = next(r["address"] for r in rows if r["kind"] == "nats" and "connected here" in r["detail"])
    victim = [ha.nats_address(i) for i in range(3)].index(used)
    killed_at = time.monotonic()
    ha.nats.kill(victim)

    await eventually(ha.components, lambda r: nats_states(r).get(used) == "down", what=f"NATS node {used} down")
    down_shown_s = time.monotonic() - killed_at
    _, carol = ha.user("carol")  # a login while the node is down
    carol_in = await ha.join(conference_id, carol, "carol")
    joined_s = time.monotonic() - killed_at
    assert (await bob_in.ping())["type"] == "pong"  # the running call goes on
    await carol_in.send_chat("during the outage")
    rows = await eventually(
        ha.components,
        lambda r: set(process_states(r).values()) == {"up"} and any("connected here" in x["detail"] for x in r),
        what="every process heard again, the web server on another node",
    )
    moved_s = time.monotonic() - killed_at
    assert next(r["address"] for r in rows if r["kind"] == "nats" and "connected here" in r["detail"]) != used

    async def history() -> list[str]:
        answer = ha.call("GET", f"/chats/conferences/{conference_id}/messages", bob)
        assert answer.status_code == 200, answer.text
        return [m["text"] for m in answer.json()["messages"]]

    await eventually(history, lambda t: "during the outage" in t, what="the chat said during the outage stored")

    restarted_at = time.monotonic()
    ha.nats.restart(victim)
    await eventually(ha.components, lambda r: nats_states(r).get(used) == "up", what=f"NATS node {used} up again")
    up_shown_s = time.monotonic() - restarted_at
    print(
        f"\nNATS node kill -9: shown down after {down_shown_s:.1f} s, a login + join done {joined_s:.1f} s after"
        f" the kill, every process heard again after {moved_s:.1f} s; shown up {up_shown_s:.1f} s after restart"
    )
    await bob_in.close()
    await carol_in.close()
