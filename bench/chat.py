"""Chat benchmark: messages per second through one base with delivery latency to 100 connected members, and
scrolling back one page of a conference's history among 1,000,000 stored messages.

    .venv/bin/python bench/chat.py                          # PostgreSQL + NATS (throwaway), 1,000,000 messages
    .venv/bin/python bench/chat.py --sqlite --inproc        # veche up's SQLite and in-process bus
    .venv/bin/python bench/chat.py --messages 500 --members 100 --history 1000000

The base role's ChatPostOffice and the web role's ChatDelivery run as in a cluster, each on its own bus connection;
100 members follow their chats as open pages do (ChatDelivery.follow, what /api/v1/chats/events streams). A
sender posts through the bus (PostChatMessage, as the API does) with a few posts in flight. Latency is from the post
to each member's stream getting the message. Baseline, in the same run: a bare bus request round trip (Ping).
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import asyncpg  # noqa: E402

from veche.base.chats.delivery import ChatDelivery  # noqa: E402
from veche.base.chats.post_office import ChatPostOffice  # noqa: E402
from veche.bus.base import Bus  # noqa: E402
from veche.bus.chat_messages import PostChatMessage  # noqa: E402
from veche.bus.inproc import InProcessBus  # noqa: E402
from veche.bus.messages import CommandResult, Ping  # noqa: E402
from veche.domain.chat_access import ChatRef  # noqa: E402
from veche.domain.model import ConferenceAccess, ConferenceType  # noqa: E402
from veche.storage.chats import ChatStore  # noqa: E402
from veche.storage.conferences import ConferenceStore  # noqa: E402
from veche.storage.database import Database  # noqa: E402
from veche.storage.users import UserStore  # noqa: E402

NOW = datetime.now(UTC)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(values: list[float]) -> str:
    return f"p50 {pct(values, 0.5) * 1000:7.2f} ms   p99 {pct(values, 0.99) * 1000:7.2f} ms"


async def buses(nats_url: str | None) -> tuple[Bus, Bus]:
    if nats_url is None:
        bus = InProcessBus("one")
        return bus, bus
    from veche.bus.nats import NatsBus

    base = await NatsBus.connect(nats_url, server_id="base-1")
    web = await NatsBus.connect(nats_url, server_id="web-1")
    return base, web


async def bus_round_trip(base: Bus, web: Bus, count: int) -> list[float]:
    async def pong(_: Ping) -> CommandResult:
        return CommandResult(ok=True)

    base.handle(Ping, pong)
    await flush(base, web)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await web.request(Ping())
        times.append(time.perf_counter() - started)
    return times


async def flush(*all_buses: Bus) -> None:
    for bus in all_buses:
        flusher: Callable[[], Awaitable[None]] | None = getattr(bus, "flush", None)
        if flusher is not None:
            await flusher()


async def throughput(db: Database, base: Bus, web: Bus, members: int, messages: int, in_flight: int) -> None:
    users = UserStore(db.sessions)
    ids = [
        (
            await users.create(
                login=f"m{i}", display_name=f"Member {i}", email="", password_hash="h", is_admin=False, now=NOW
            )
        ).id
        for i in range(members + 1)
    ]
    store = ChatStore(db.sessions)
    sender, readers = ids[0], ids[1:]
    chat = await store.group(sender, "Bench", set(readers), NOW)
    ChatPostOffice(base, store)
    delivery = ChatDelivery(web, store)
    await flush(base, web)

    posted: dict[str, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()
    expected = messages * members

    async def follow(user_id: int) -> None:
        async for message in delivery.follow(user_id, None, wait_s=3600):
            latencies.append(time.perf_counter() - posted[message.text])
            if len(latencies) >= expected:
                done.set()

    followers = [asyncio.create_task(follow(u)) for u in readers]
    while delivery.followers < members:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # every follower past its catching up

    gate = asyncio.Semaphore(in_flight)

    async def post(n: int) -> None:
        async with gate:
            text = f"message {n}"
            posted[text] = time.perf_counter()
            await web.request(
                PostChatMessage(
                    chat=f"chat:{chat.id}", sender=f"user:{sender}", sender_user_id=sender, display_name="S", text=text
                ),
                timeout_s=30,
            )

    started = time.perf_counter()
    await asyncio.gather(*(post(n) for n in range(messages)))
    stored = time.perf_counter() - started
    try:
        await asyncio.wait_for(done.wait(), 120)
    except TimeoutError:
        print(f"  only {len(latencies):,} of {expected:,} deliveries within 120 s")
    delivered = time.perf_counter() - started
    for task in followers:
        task.cancel()
    delivery.close()
    print(
        f"posting {messages} messages ({in_flight} in flight) to {members} connected members: "
        f"{messages / stored:7.1f} msg/s stored, {messages / delivered:7.1f} msg/s delivered to all "
        f"({expected / delivered:,.0f} deliveries/s)"
    )
    print(f"  delivery latency, post -> member's stream ({len(latencies):,}): {ms(latencies)}")


async def seed_history(db: Database, conference_id: int, other_id: int, count: int) -> None:
    """``count`` messages of one conference over a year, every tenth message meanwhile in another conference."""
    start = NOW - timedelta(days=365)
    rows = (
        (
            other_id if n % 11 == 10 else conference_id,
            f"p-{n % 50}",
            f"Person {n % 50}",
            f"history message {n} about things",
            start + timedelta(seconds=n),
        )
        for n in range(count + count // 10)
    )
    if db.url.startswith("postgresql"):
        conn = await asyncpg.connect(db.url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.copy_records_to_table(
                "chat_messages",
                records=rows,
                columns=["conference_id", "sender", "display_name", "text", "created_at"],
            )
            await conn.execute("ANALYZE chat_messages")
        finally:
            await conn.close()
        return
    import sqlite3

    path = db.url.split("///", 1)[1]
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO chat_messages (conference_id, sender, display_name, text, created_at) VALUES (?, ?, ?, ?, ?)",
            ((c, s, d, t, ts.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")) for c, s, d, t, ts in rows),
        )
        conn.execute("ANALYZE")


async def scroll_back(db: Database, history: int, pages: int) -> None:
    owner = await UserStore(db.sessions).create(
        login="owner", display_name="Owner", email="", password_hash="h", is_admin=False, now=NOW
    )
    conferences = ConferenceStore(db.sessions)
    conference = await conferences.create(
        name="Big",
        owner_id=owner.id,
        type=ConferenceType.ALL_SEE_ALL,
        max_participants=50,
        guests_allowed=False,
        access=ConferenceAccess.OPEN,
        invite_code="big",
        slug="big",
        invited=set(),
        moderators=set(),
        now=NOW,
    )
    other = await conferences.create(
        name="Other",
        owner_id=owner.id,
        type=ConferenceType.ALL_SEE_ALL,
        max_participants=50,
        guests_allowed=False,
        access=ConferenceAccess.OPEN,
        invite_code="other",
        slug="other",
        invited=set(),
        moderators=set(),
        now=NOW,
    )
    started = time.perf_counter()
    await seed_history(db, conference.id, other.id, history)  # another conference's messages in the same table
    print(
        f"stored {history:,} messages in one conference (+{history // 10:,} elsewhere) "
        f"in {time.perf_counter() - started:.1f} s"
    )
    store = ChatStore(db.sessions)
    ref = ChatRef("conference", conference.id)
    newest = await store.page(ref, limit=50)
    top, bottom = newest.messages[-1].id, 1
    first: list[float] = []
    deep: list[float] = []
    for _ in range(pages):
        started = time.perf_counter()
        await store.page(ref, limit=50)
        first.append(time.perf_counter() - started)
        before = random.randint(max(1, bottom), top)
        started = time.perf_counter()
        page = await store.page(ref, before=before, limit=50)
        deep.append(time.perf_counter() - started)
        assert len(page.messages) <= 50
    print(f"  newest page (50) on join ({pages}):        {ms(first)}")
    print(f"  one page back from a random point ({pages}): {ms(deep)}")
    searched: list[float] = []
    for _ in range(max(5, pages // 20)):
        started = time.perf_counter()
        await store.page(ref, limit=50, query=f"message {random.randint(0, history)} about")
        searched.append(time.perf_counter() - started)
    print(f"  search in the conference's chat ({len(searched)}):    {ms(searched)}")


async def run(args: argparse.Namespace, db_url: str, nats_url: str | None) -> None:
    db = Database(db_url)
    await db.migrate()
    base, web = await buses(nats_url)
    try:
        trips = await bus_round_trip(base, web, args.round_trips)
        print(f"baseline: bare bus round trip (Ping, {len(trips)}): {ms(trips)}")
        await throughput(db, base, web, args.members, args.messages, args.in_flight)
        await scroll_back(db, args.history, args.pages)
    finally:
        await web.close()
        if web is not base:
            await base.close()
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--round-trips", type=int, default=2000)
    parser.add_argument("--sqlite", action="store_true", help="SQLite (veche up) instead of a throwaway PostgreSQL")
    parser.add_argument("--inproc", action="store_true", help="the in-process bus instead of a throwaway NATS")
    args = parser.parse_args()
    print(f"command: {' '.join(sys.argv)}")
    root = Path(tempfile.mkdtemp(prefix="veche-bench-chat-"))
    pg = nats = None
    try:
        if args.sqlite:
            db_url = f"sqlite+aiosqlite:///{root / 'veche.db'}"
        else:
            from veche.dev.postgres import ThrowawayPostgres

            pg = ThrowawayPostgres.start()
            db_url = pg.url
        nats_url = None
        if not args.inproc:
            from veche.dev.nats import ThrowawayNats

            nats = ThrowawayNats.start()
            nats_url = nats.url
        print(f"database: {'SQLite' if args.sqlite else 'PostgreSQL'}; bus: {'in-process' if args.inproc else 'NATS'}")
        asyncio.run(run(args, db_url, nats_url))
    finally:
        if nats is not None:
            nats.stop()
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
