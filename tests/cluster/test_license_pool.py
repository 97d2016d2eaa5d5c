"""The license pool across real processes (manager, base, web, 3 app servers, PostgreSQL, NATS) under faults.

A 10-slot video pool is filled across the app servers; the 11th is refused with the message. Then the manager is
killed, NATS cut, an app server frozen past its lease and resumed, and another killed: sampled every 100 ms from
every app server, the admitted connections never exceed the pool, and a dead server's slots come back only after
its grace. Short lease terms (ttl 3 s, grace 8 s) keep the test brief; the rules are the same as the defaults'.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.support.eventually import eventually
from veche.dev.cluster import DevCluster
from veche.domain.license import License, generate_key, sign_license
from veche.domain.license_pools import Pool
from veche.manager.license_file import InstalledLicense

pytestmark = pytest.mark.postgres

ADMIN_PASSWORD = "license-admin-password"
POOL = 10
TTL_S, GRACE_S = 3.0, 8.0
FULL = "All 10 video connections of your license are in use. Try again later or ask your administrator."


@dataclass
class Licensed:
    cluster: DevCluster
    token: str
    samples: list[tuple[float, int]] = field(default_factory=list)  # (time, admitted on all app servers)
    _stop: threading.Event = field(default_factory=threading.Event)

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.request(method, f"{self.cluster.web_url}/api/v1{path}", headers=headers, timeout=10, **kw)

    def conference(self, name: str) -> int:
        created = self.call("POST", "/conferences", json={"name": name, "max_participants": 20})
        assert created.status_code == 201, created.text
        return int(created.json()["id"])

    def sample_forever(self) -> None:
        """Every 100 ms, each app server's admitted video connections (the last answer of one that is silent)."""
        last: dict[str, int] = {}
        token = (self.cluster.root / "join_token").read_text().strip()  # health's details are for the cluster
        with httpx.Client(timeout=0.5, headers={"Authorization": f"Bearer {token}"}) as client:
            while not self._stop.is_set():
                for proc in self.cluster.processes:
                    if proc.role != "app":
                        continue
                    try:
                        seats = client.get(f"{proc.url}/api/v1/health").json()["license_seats"]
                        last[proc.name] = int(seats["video"]["in_use"])
                    except (httpx.HTTPError, KeyError, ValueError):
                        pass  # frozen or dead: it admits nothing meanwhile, so its last figure stands
                self.samples.append((time.monotonic(), sum(last.values())))
                self._stop.wait(0.1)


@pytest.fixture(scope="module")
def licensed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Licensed]:
    from tests.support.net import has_media_network
    from veche.dev.ports import free_tcp_port

    if not has_media_network():
        pytest.skip("the cluster's Janus servers need the test network namespace")
    root = Path(tmp_path_factory.mktemp("licensed"))
    private, public = generate_key()
    text = sign_license(
        License(
            license_id="cluster-test",
            organisation="Acme",
            expires=date.today() + timedelta(days=30),
            issued_at=datetime.now(UTC),
            pools={pool: (POOL if pool is Pool.VIDEO else None) for pool in Pool},
        ),
        private,
    )
    InstalledLicense(root / "manager", []).install(text, [public])  # as `veche license install --trust` would
    dev = DevCluster(
        root=root,
        apps=3,
        http_port=free_tcp_port(),
        admin_password=ADMIN_PASSWORD,
        extra_config=["[leases]", f"ttl_s = {TTL_S}", f"grace_s = {GRACE_S}", "block = 2"],
    )
    try:
        dev.start(progress=False)
        token = httpx.post(
            f"{dev.web_url}/api/v1/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD}, timeout=10
        ).json()["token"]
        licensed = Licensed(dev, token)

        async def three_up() -> int:
            answer = await asyncio.to_thread(licensed.call, "GET", "/servers")
            return sum(1 for s in answer.json() if "app" in s["roles"] and s["status"] == "up")

        asyncio.run(eventually(three_up, lambda n: n == 3, timeout=30, what="3 app servers up"))
        sampler = threading.Thread(target=licensed.sample_forever, daemon=True)
        sampler.start()
        yield licensed
        licensed._stop.set()
        sampler.join(timeout=5)
    finally:
        dev.stop()


class Client:
    """A signaling connection that joined (or was refused), kept open; no media."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.ws: Any = None
        self.reply: dict[str, Any] = {}

    async def open(self, url: str | None = None, ticket: str | None = None) -> dict[str, Any]:
        self.ws = await websockets.connect(url or self.answer["signaling_url"], open_timeout=5)
        await self.ws.send(json.dumps({"type": "join", "v": 1, "ticket": ticket or self.answer["ticket"], "id": 1}))
        self.reply = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        return self.reply

    async def ping(self) -> bool:
        await self.ws.send(json.dumps({"type": "ping", "id": 7}))
        for _ in range(50):  # events of the others may come first
            if json.loads(await asyncio.wait_for(self.ws.recv(), 5)).get("type") == "pong":
                return True
        return False

    @property
    def joined(self) -> bool:
        return self.reply.get("type") == "joined"

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


async def join(licensed: Licensed, conference_id: int, **body: Any) -> Client:
    """Ask for a ticket and join with it, asking again as the page does while the chosen server is unreachable."""
    async with httpx.AsyncClient(timeout=10) as http:
        for attempt in range(10):
            answer = await http.post(
                f"{licensed.cluster.web_url}/api/v1/conferences/{conference_id}/join",
                headers={"Authorization": f"Bearer {licensed.token}"},
                json=body,
            )
            if answer.status_code == 503:  # no live app server for a moment (heartbeats late): ask again
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            assert answer.status_code == 200, answer.text
            client = Client(answer.json())
            try:
                await client.open()
            except OSError:
                # Placed on a server that has just died and is not yet known to be dead: the page reconnects
                # through a fresh ticket, which places the conference again once the death is noticed.
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            return client
    raise AssertionError(f"no app server took the join: {answer.status_code} {answer.text}")


def server_name(licensed: Licensed, server_id: str) -> str:
    servers = {s["id"]: s["name"] for s in licensed.call("GET", "/servers").json()}
    return str(servers[server_id])


def license_figures(licensed: Licensed) -> dict[str, Any]:
    answer = licensed.call("GET", "/license")
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["pools"]["video"])


async def renewing(licensed: Licensed, *, in_use: int) -> None:
    """Until every app server renews its lease again and the manager counts ``in_use`` connections."""

    def figures() -> dict[str, Any]:
        answer = licensed.call("GET", "/license")  # 503 while the manager or NATS comes back
        return dict(answer.json()["pools"]["video"]) if answer.status_code == 200 else {}

    def fine(video: dict[str, Any]) -> bool:
        return bool(video) and not video["silent"] and video["in_use"] == in_use

    await eventually(lambda: asyncio.to_thread(figures), fine, timeout=30, what="every server renewing")


async def test_the_pool_holds_across_servers_and_faults(licensed: Licensed) -> None:
    clients: list[Client] = []
    try:
        # Fill the pool: five conferences of two, placed across the app servers.
        for n in range(5):
            conference = licensed.conference(f"fill-{n}")
            for _ in range(2):
                client = await join(licensed, conference)
                assert client.joined, client.reply
                clients.append(client)
        servers = {c.answer["server_id"] for c in clients}
        assert len(servers) >= 2, "placement spread the conferences over several app servers"

        extra = await join(licensed, licensed.conference("one-too-many"))
        assert extra.reply["code"] == "license_exhausted" and extra.reply["message"] == FULL
        await extra.close()
        video = await eventually(
            lambda: asyncio.to_thread(license_figures, licensed), lambda v: v["in_use"] == POOL, what="10 in use"
        )
        assert video["total"] == POOL and video["free"] == 0
        assert sum(video["in_use_by_server"].values()) == POOL

        # The manager killed and restarted from its database: nothing is granted twice.
        manager = licensed.cluster.get("manager")
        licensed.cluster.kill(manager, signal.SIGKILL)
        refused = await join(licensed, licensed.conference("while-no-manager"))
        assert refused.reply["code"] == "license_exhausted"
        await refused.close()
        licensed.cluster.launch(manager)
        licensed.cluster.wait_ready([manager])
        # Each fault below is shorter than the grace, but they would add up: let every server renew in between.
        await renewing(licensed, in_use=len(clients))

        # NATS cut for longer than a lease: running calls go on; nobody new is admitted.
        nats = licensed.cluster.nats
        assert nats is not None
        nats.kill()
        await asyncio.sleep(TTL_S + 1)  # let every lease run out without renewal (the fault itself)
        for client in clients:
            assert await client.ping(), "a running call goes on without the manager and NATS"
        nats.restart()
        await renewing(licensed, in_use=len(clients))

        # An app server frozen past its lease and resumed: it admits nothing until it renews.
        frozen = next(p for p in licensed.cluster.processes if p.role == "app")
        os.kill(frozen.pid, signal.SIGSTOP)
        await asyncio.sleep(TTL_S + 1)  # the freeze itself
        os.kill(frozen.pid, signal.SIGCONT)
        await renewing(licensed, in_use=len(clients))

        # Two leave: two others get in, wherever their conferences are placed.
        for client in clients[:2]:
            await client.close()
        clients = clients[2:]

        async def one_more() -> bool:
            c = await join(licensed, licensed.conference(f"after-{time.monotonic()}"))
            if c.joined:
                clients.append(c)
            else:
                await c.close()
            return c.joined

        for _ in range(2):  # the leases follow within a renewal or two
            await eventually(one_more, bool, timeout=30, interval=0.5, what="a seat given back")

        # An app server dies: its slots stay counted until its grace is over, then come back.
        victim_id = clients[-1].answer["server_id"]
        victim = licensed.cluster.get(server_name(licensed, victim_id))
        on_victim = [c for c in clients if c.answer["server_id"] == victim_id]
        licensed.cluster.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        for c in on_victim:
            await c.close()
        clients = [c for c in clients if c not in on_victim]
        held = await join(licensed, licensed.conference("right-after-the-death"))
        # The dead server's seats are still held.
        assert held.reply.get("code") == "license_exhausted", (held.reply, license_figures(licensed), victim_id)
        await held.close()
        assert time.monotonic() - killed_at < GRACE_S, "the refusal was checked within the grace"

        async def back() -> bool:
            c = await join(licensed, licensed.conference(f"after-grace-{time.monotonic()}"))
            if c.joined:
                clients.append(c)
                return True
            await c.close()
            return False

        await eventually(back, bool, timeout=GRACE_S + TTL_S + 20, interval=1.0, what="the dead server's seats")
        assert time.monotonic() - killed_at >= GRACE_S, "seats came back only after the grace"
    finally:
        for client in clients:
            await client.close()
    over = [(t, n) for t, n in licensed.samples if n > POOL]
    assert not over, f"admitted connections exceeded the pool of {POOL}: {over[:5]}"
    assert len(licensed.samples) > 50


async def test_a_ticket_of_a_failed_server_is_stale_where_the_conference_moved(licensed: Licensed) -> None:
    await eventually(
        lambda: asyncio.to_thread(license_figures, licensed), lambda v: v["free"] >= 2, timeout=30, what="free"
    )
    conference = licensed.conference("moves")
    first = await join(licensed, conference)
    assert first.joined, first.reply
    old = first.answer
    old_server = licensed.cluster.get(server_name(licensed, old["server_id"]))
    try:
        licensed.cluster.kill(old_server, signal.SIGKILL)
        await first.close()
        moved = await join(licensed, conference, failed_server=old["server_id"])
        assert moved.joined and moved.answer["server_id"] != old["server_id"]
        # The old ticket, shown to the server the conference runs on now: stale, and the client is told to ask again.
        stale = Client(old)
        reply = await stale.open(url=moved.answer["signaling_url"])
        assert reply["code"] == "stale_ticket"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(stale.ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4010
        again = await join(licensed, conference, session=old["session"])
        assert again.joined and again.answer["server_id"] == moved.answer["server_id"]
        live = licensed.call("GET", f"/conferences/{conference}/participants").json()
        assert len(live) == 2  # one conference, on one server, with both
        await again.close()
        await moved.close()
    finally:
        licensed.cluster.launch(old_server)
