"""Faults under load on a `veche dev cluster --ha`-style cluster, for tests/ha/test_failover_faults.py and
bench/ha.py: what people do meanwhile (logins, joins, chat in a running call), each fault (kill -9 of the active
manager, a base, a web, a NATS node, the PostgreSQL primary) with its way back, and how long logins and joins were
unavailable.

The traffic talks to both web servers as an HTTP balancer would: a request that cannot connect to one is sent to
the other. Unavailability of a kind of request after a fault: the longest time without a success of that kind,
from the kill until it works again (a baseline is the same measure over a window with no fault).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.eventually import eventually
from tests.support.signal_client import SyntheticParticipant
from veche.dev.cluster import DevCluster
from veche.dev.nats import ThrowawayNatsCluster
from veche.dev.ports import free_tcp_port

__all__ = [
    "ADMIN_PASSWORD",
    "FAULTS",
    "Balancer",
    "FaultRun",
    "HaCluster",
    "Traffic",
    "longest_outage",
    "start_ha_cluster",
]

ADMIN_PASSWORD = "failover-faults-admin-password"
LEADER_TTL_S = 3.0
FAULTS = ("manager", "base", "web", "nats", "database")
KINDS = ("login", "join")
OK_AFTER = 3  # successes of each kind, sent after the switch-over, before a fault counts as over


class Balancer:
    """Every web server behind one address: a request that cannot connect (or times out) goes to the next."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self._turn = itertools.count()

    async def request(self, client: httpx.AsyncClient, method: str, path: str, **kw: Any) -> httpx.Response | None:
        first = next(self._turn)
        for i in range(len(self.urls)):
            url = self.urls[(first + i) % len(self.urls)]
            try:
                return await client.request(method, f"{url}/api/v1{path}", **kw)
            except httpx.TransportError:
                continue
        return None  # no web server answered


@dataclass(frozen=True)
class Outcome:
    kind: str  # "login" | "join" | "chat"
    sent: float  # monotonic
    done: float
    status: int  # the HTTP status (0: no web server answered; chat: 200 when the app server said it)
    retry_after: bool
    ok: bool


@dataclass
class HaCluster:
    dev: DevCluster
    admin: str  # the admin's bearer token
    conference_id: int
    users: list[tuple[str, str]]  # (login, password) of the people who log in and join
    user_ids: list[int]
    balancer: Balancer

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        """A request through the balancer, synchronously (set-up and checks)."""
        headers = {"Authorization": f"Bearer {token or self.admin}"}
        for url in self.dev.web_urls:
            try:
                return httpx.request(method, f"{url}/api/v1{path}", headers=headers, timeout=30, **kw)
            except httpx.TransportError:
                continue
        raise AssertionError(f"no web server answers {method} {path}")

    def active(self, kind: str) -> list[str]:
        rows = self.call("GET", "/components").json()
        return [str(r["name"]) for r in rows if r["kind"] == kind and r["active"] and r["state"] == "up"]

    def history(self, chat_id: int | None = None) -> list[str]:
        """Every text of the conference's chat history (or of a group chat), oldest first, page by page."""
        path = f"/chats/{chat_id}/messages" if chat_id else f"/chats/conferences/{self.conference_id}/messages"
        texts: list[str] = []
        before: int | None = None
        while True:
            params: dict[str, Any] = {"limit": 100, **({"before": before} if before else {})}
            page = self.call("GET", path, params=params)
            assert page.status_code == 200, page.text
            body = page.json()
            texts = [str(m["text"]) for m in body["messages"]] + texts
            if not body["more"] or not body["messages"]:
                return texts
            before = int(body["messages"][0]["id"])


def start_ha_cluster(root: Path, *, apps: int = 2, people: int = 3) -> HaCluster:
    """`veche dev cluster --ha` (2 managers, 2 base, 2 web, ``apps`` app servers, Patroni, 3 NATS nodes), an
    open conference and ``people`` users who may join it; every process up before it returns."""
    dev = DevCluster(
        root=root,
        apps=apps,
        http_port=free_tcp_port(),
        admin_password=ADMIN_PASSWORD,
        ha=True,
        leader_ttl_s=LEADER_TTL_S,
    )
    try:
        dev.start(progress=False)
        answer = httpx.post(
            f"{dev.web_url}/api/v1/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        ha = HaCluster(dev, str(answer.json()["token"]), 0, [], [], Balancer(dev.web_urls))
        deadline = time.monotonic() + 90
        while True:
            rows = ha.call("GET", "/components").json()
            processes = [r for r in rows if r["kind"] in ("manager", "base", "web", "app")]
            if len(processes) >= 6 + apps and all(r["state"] == "up" for r in processes) and ha.active("app"):
                break
            assert time.monotonic() < deadline, f"the processes never all came up: {rows}"
            time.sleep(0.5)
        created = ha.call("POST", "/conferences", json={"name": "Under faults", "access": "open"})
        assert created.status_code == 201, created.text
        ha.conference_id = int(created.json()["id"])
        for n in range(people):
            login, password = f"person{n}", f"person{n}-password-1"
            body = {"login": login, "display_name": f"Person {n}", "email": f"{login}@example.org"}
            made = ha.call("POST", "/users", json={**body, "password": password})
            assert made.status_code == 201, made.text
            ha.users.append((login, password))
            ha.user_ids.append(int(made.json()["id"]))
        return ha
    except BaseException:
        dev.stop()
        raise


@dataclass
class Traffic:
    """Logins, joins (ticket, WebSocket, leave) and chat said in the running call, in loops until :attr:`stop`."""

    ha: HaCluster
    chatters: list[SyntheticParticipant] = field(default_factory=list)  # the running call
    outcomes: list[Outcome] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)  # chat the app server took
    group_chat: int | None = None  # with one, the admin also posts to this group chat (stored by base at once)
    posted: list[tuple[str, float]] = field(default_factory=list)  # group chat messages answered 201, and when
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    _numbers: itertools.count[int] = field(default_factory=itertools.count)

    async def join_call(self, count: int) -> None:
        """``count`` people join the conference and stay (the running call); a 503 is tried again."""
        async with httpx.AsyncClient(timeout=30) as client:
            for n in range(count):
                token = await self._token(client, *self.ha.users[n % len(self.ha.users)])
                ticket = await eventually(
                    functools.partial(self._ticket, client, token),
                    lambda t: t is not None,
                    timeout=60,
                    what="a join ticket",
                )
                assert ticket is not None
                person = SyntheticParticipant(f"in-call-{n}", auto_subscribe=False)
                await person.connect(ticket["signaling_url"], ticket["ticket"])
                self.chatters.append(person)

    async def run(self) -> None:
        await asyncio.gather(self._logins(), self._joins(), self._chat(), self._posts())

    async def leave_call(self) -> None:
        for person in self.chatters:
            await person.close()

    async def calls_running(self) -> list[str]:
        """The people in the running call whose connection does not answer a ping (empty: every call runs)."""
        silent = []
        for person in self.chatters:
            try:
                await person.ping()
            except Exception:
                silent.append(person.name)
        return silent

    # -- the loops --------------------------------------------------------------------------------------------

    async def _logins(self) -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            for n in itertools.count():
                if self.stop.is_set():
                    return
                login, password = self.ha.users[n % len(self.ha.users)]
                await self._timed("login", self._login(client, login, password))
                await asyncio.sleep(0.2)

    async def _joins(self) -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            token = await self._token(client, *self.ha.users[0])
            while not self.stop.is_set():
                await self._timed("join", self._join(client, token))
                await asyncio.sleep(0.3)

    async def _chat(self) -> None:
        for n in itertools.count():
            if self.stop.is_set():
                return
            person = self.chatters[n % len(self.chatters)]
            text = f"said {next(self._numbers)} by {person.name}"
            sent = time.monotonic()
            try:
                await person.send_chat(text)
            except Exception:
                self.outcomes.append(Outcome("chat", sent, time.monotonic(), 0, False, False))
            else:
                self.acknowledged.append(text)
                self.outcomes.append(Outcome("chat", sent, time.monotonic(), 200, False, True))
            await asyncio.sleep(1.2 / len(self.chatters))  # each person about once a second: the chat rate

    async def _posts(self) -> None:
        if self.group_chat is None:
            return
        async with httpx.AsyncClient(timeout=30) as client:
            for n in itertools.count():
                if self.stop.is_set():
                    return
                text = f"posted {n}"
                await self._timed("post", self._post(client, text))
                await asyncio.sleep(0.2)

    async def _post(self, client: httpx.AsyncClient, text: str) -> tuple[int, bool, bool]:
        answer = await self.ha.balancer.request(
            client,
            "POST",
            f"/chats/{self.group_chat}/messages",
            json={"text": text},
            headers={"Authorization": f"Bearer {self.ha.admin}"},
        )
        if answer is None:
            return 0, False, False
        if answer.status_code == 201:
            self.posted.append((text, time.monotonic()))
        return answer.status_code, "Retry-After" in answer.headers, answer.status_code == 201

    # -- one request of each kind -----------------------------------------------------------------------------

    async def _timed(self, kind: str, call: Awaitable[tuple[int, bool, bool]]) -> None:
        sent = time.monotonic()
        status, retry_after, ok = await call
        self.outcomes.append(Outcome(kind, sent, time.monotonic(), status, retry_after, ok))

    async def _login(self, client: httpx.AsyncClient, login: str, password: str) -> tuple[int, bool, bool]:
        answer = await self.ha.balancer.request(
            client, "POST", "/auth/token", json={"login": login, "password": password}
        )
        if answer is None:
            return 0, False, False
        return answer.status_code, "Retry-After" in answer.headers, answer.status_code == 200

    async def _join(self, client: httpx.AsyncClient, token: str) -> tuple[int, bool, bool]:
        answer = await self.ha.balancer.request(
            client,
            "POST",
            f"/conferences/{self.ha.conference_id}/join",
            json={},
            headers={"Authorization": f"Bearer {token}"},
        )
        if answer is None:
            return 0, False, False
        retry_after = "Retry-After" in answer.headers
        if answer.status_code != 200:
            return answer.status_code, retry_after, False
        person = SyntheticParticipant("joiner", auto_subscribe=False)
        try:
            await person.connect(answer.json()["signaling_url"], answer.json()["ticket"])
        except Exception:
            return answer.status_code, retry_after, False  # a ticket, but the call could not be joined
        finally:
            with contextlib.suppress(Exception):
                await person.close()
        return answer.status_code, retry_after, True

    async def _token(self, client: httpx.AsyncClient, login: str, password: str) -> str:
        async def attempt() -> str | None:
            answer = await self.ha.balancer.request(
                client, "POST", "/auth/token", json={"login": login, "password": password}
            )
            return str(answer.json()["token"]) if answer is not None and answer.status_code == 200 else None

        token = await eventually(attempt, lambda t: t is not None, timeout=60, what=f"{login} logged in")
        assert token is not None
        return token

    async def _ticket(self, client: httpx.AsyncClient, token: str) -> dict[str, Any] | None:
        answer = await self.ha.balancer.request(
            client,
            "POST",
            f"/conferences/{self.ha.conference_id}/join",
            json={},
            headers={"Authorization": f"Bearer {token}"},
        )
        return dict(answer.json()) if answer is not None and answer.status_code == 200 else None

    # -- what it saw ------------------------------------------------------------------------------------------

    def wrong_answers(self) -> list[tuple[str, int]]:
        """Answers a person must never get: anything but 2xx, or 503 with Retry-After (chat: no answers here)."""
        return [
            (o.kind, o.status)
            for o in self.outcomes
            if o.kind != "chat" and o.status != 0 and not (200 <= o.status < 300 or (o.status == 503 and o.retry_after))
        ]

    def successes_sent_after(self, kind: str, since: float) -> int:
        return sum(1 for o in self.outcomes if o.kind == kind and o.ok and o.sent > since)


def longest_outage(outcomes: list[Outcome], kind: str, start: float, end: float) -> float:
    """The longest time without a success of ``kind`` (by completion) between ``start`` and ``end``."""
    done = sorted(o.done for o in outcomes if o.kind == kind and o.ok and start <= o.done <= end)
    edges = [start, *done, end] if done else [start, end]
    return max(b - a for a, b in itertools.pairwise(edges))


@dataclass
class FaultRun:
    """One fault: what was killed, when, when the switch-over was seen, how long logins and joins were out."""

    fault: str
    victim: str
    killed_at: float
    switched_at: float = 0.0
    recovered_at: float = 0.0
    unavailable_s: dict[str, float] = field(default_factory=dict)


async def inflict(ha: HaCluster, traffic: Traffic, fault: str) -> FaultRun:
    """kill -9 one component of ``fault`` (one of :data:`FAULTS`); return once the switch-over is seen and logins
    and joins sent after it succeed again, with how long each was unavailable."""
    dev = ha.dev
    nats, patroni = dev.nats_cluster, dev.patroni
    assert nats is not None and patroni is not None
    kill: Callable[[], None]
    switched: Callable[[], bool]
    if fault == "manager":
        victim = (await asyncio.to_thread(ha.active, "manager"))[0]
        kill, switched = (lambda: dev.kill(dev.get(victim))), (lambda: _other_active(ha, victim))
    elif fault in ("base", "web"):
        victim = f"{fault}-1"
        kill, switched = (lambda: dev.kill(dev.get(victim))), (lambda: True)
    elif fault == "nats":
        node = await asyncio.to_thread(_busiest, nats)
        victim = f"nats-{node + 1}"
        kill, switched = (lambda: nats.kill(node)), (lambda: True)
    elif fault == "database":
        primary = await asyncio.to_thread(patroni.primary)
        assert primary is not None
        victim = primary
        kill, switched = (lambda: patroni.kill_node(victim)), (lambda: patroni.primary() not in (None, victim))
    else:
        raise ValueError(fault)
    run = FaultRun(fault, victim, time.monotonic())
    await asyncio.to_thread(kill)

    async def seen() -> bool:
        return await asyncio.to_thread(switched)

    await eventually(seen, bool, timeout=90, what=f"the switch-over after killing {victim}")
    run.switched_at = time.monotonic()

    async def working() -> bool:
        return all(traffic.successes_sent_after(kind, run.switched_at) >= OK_AFTER for kind in KINDS)

    await eventually(working, bool, timeout=120, what=f"logins and joins after killing {victim}")
    run.recovered_at = time.monotonic()
    run.unavailable_s = {k: longest_outage(traffic.outcomes, k, run.killed_at, run.recovered_at) for k in KINDS}
    return run


def _busiest(nats: ThrowawayNatsCluster) -> int:
    """The NATS node with the most clients now (its /varz): killing it moves the most processes."""

    def clients(i: int) -> int:
        try:
            with urllib.request.urlopen(f"{nats.monitor_urls[i]}/varz", timeout=2) as response:
                return int(json.load(response).get("connections", 0))
        except (OSError, ValueError):
            return -1

    return max(range(len(nats.nodes)), key=clients)


def _other_active(ha: HaCluster, victim: str) -> bool:
    active = ha.active("manager")
    return bool(active) and victim not in active


async def restore(ha: HaCluster, traffic: Traffic, run: FaultRun) -> None:
    """Return the failed component the way docs/operations.md says, then wait for logins and joins again."""
    dev = ha.dev
    nats, patroni = dev.nats_cluster, dev.patroni
    assert nats is not None and patroni is not None
    if run.fault in ("manager", "base", "web"):
        proc = dev.get(run.victim)
        dev.launch(proc)
        await asyncio.to_thread(dev.wait_ready, [proc])
    elif run.fault == "nats":
        await asyncio.to_thread(nats.restart, int(run.victim.removeprefix("nats-")) - 1)
    else:
        await asyncio.to_thread(patroni.restart_node, run.victim)
        await asyncio.to_thread(patroni.wait_synchronous)
    back = time.monotonic()

    async def working() -> bool:
        return all(traffic.successes_sent_after(kind, back) >= OK_AFTER for kind in KINDS)

    await eventually(working, bool, timeout=120, what=f"logins and joins with {run.victim} back")
