"""Directory benchmark: full sync of a large slapd into PostgreSQL, change-to-visible latency, search latency.

    .venv/bin/python bench/directory.py                       # 1,000,000 people in 10,000 groups
    .venv/bin/python bench/directory.py --people 100000 --groups 1000

Starts its own slapd (seeded with slapadd) and PostgreSQL in temporary directories, prints figures, asserts
nothing. Baselines measured in the same run: a DN-only paged read of the directory (the LDAP floor of a sync)
and a trivial query round trip (the database floor of a search).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import ldap3  # noqa: E402
from tests.directory.slapd import (  # noqa: E402
    ADMIN_DN,
    ADMIN_PASSWORD,
    BASE_DN,
    Person,
    Slapd,
    chunks,
    group_ldif,
    ldif_entries,
    person_ldif,
)

from veche.dev.postgres import ThrowawayPostgres  # noqa: E402

GIVEN = ["Иван", "Мария", "Пётр", "Анна", "Sergey", "Olga", "John", "Елена", "Дмитрий", "Alice", "Никита", "Юлия"]
SURNAMES = [
    "Иванов",
    "Петрова",
    "Смирнов",
    "Кузнецова",
    "Smith",
    "Johnson",
    "Попов",
    "Соколова",
    "Lebedev",
    "Новиков",
    "Морозова",
    "Brown",
    "Волков",
    "Fedorova",
    "Miller",
    "Зайцев",
]
DEPARTMENTS = ["Разработка", "Продажи", "Бухгалтерия", "Sales", "Engineering", "Support", "Логистика", "HR"]


def person(i: int) -> Person:
    return Person(
        uid=f"u{i:07d}",
        given=GIVEN[i % len(GIVEN)],
        surname=f"{SURNAMES[(i // 7) % len(SURNAMES)]}{i % 9973}",
        mail=f"u{i:07d}@corp.example",
        phone=f"+7 495 {i // 10000:03d}-{i % 10000:04d}",
        department=DEPARTMENTS[i % len(DEPARTMENTS)],
        title="Engineer" if i % 3 else "Менеджер",
    )


def seed(people: int, groups: int) -> Iterator[str]:
    yield ldif_entries()
    for i in range(people):
        yield person_ldif(person(i))
    divisions = max(1, groups // 100)
    teams = groups - divisions
    for t in range(teams):
        members = [person(i).dn for i in range(t, people, teams)]
        yield group_ldif(f"team{t:05d}", members)
    for d in range(divisions):
        yield group_ldif(
            f"division{d:03d}", [f"cn=team{t:05d},ou=groups,{BASE_DN}" for t in range(d, teams, divisions)]
        )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def baseline_ldap_read(url: str) -> float:
    conn = ldap3.Connection(ldap3.Server(url, get_info=ldap3.NONE), ADMIN_DN, ADMIN_PASSWORD, auto_bind=True)
    started = time.monotonic()
    for _ in conn.extend.standard.paged_search(
        f"ou=people,{BASE_DN}", "(objectClass=inetOrgPerson)", attributes=["1.1"], paged_size=1000, generator=True
    ):
        pass
    conn.unbind()
    return time.monotonic() - started


def write_config(root: Path, url: str, db_url: str) -> Path:
    secret = root / "bind_password"
    secret.write_text(ADMIN_PASSWORD)
    config = root / "veche.toml"
    config.write_text(
        f"""data_dir = "{root / "data"}"
[database]
url = "{db_url}"
[directory]
watch = false
[[directory.sources]]
name = "corp"
urls = ["{url}"]
bind_dn = "{ADMIN_DN}"
bind_password_file = "{secret}"
user_base_dns = ["ou=people,{BASE_DN}"]
group_base_dns = ["ou=groups,{BASE_DN}"]
page_size = 1000
timeout_s = 30
group_access = {{ division000 = "own_groups" }}
"""
    )
    return config


def full_sync(config: Path) -> tuple[float, float, str]:
    """`veche directory sync` as a child process: wall time, peak RSS (MiB), its summary line."""
    started = time.monotonic()
    child = subprocess.Popen(
        [str(ROOT / ".venv/bin/veche"), "directory", "sync", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "VECHE_LOG_LEVEL": "WARNING"},
    )
    assert child.stdout is not None
    out = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.monotonic() - started
    if status != 0:
        raise SystemExit(f"veche directory sync failed ({status}): {out}")
    return elapsed, usage.ru_maxrss / 1024, out.strip()


async def change_latency(config: Path, slapd: Slapd, people: int, count: int) -> list[float]:
    from veche.config.settings import load_settings
    from veche.container import Container

    settings = load_settings(config)
    container = Container(settings, ["base"])
    sync = container.get_directory_sync()
    sync.start()
    engine = container.get_database().engine
    conn = ldap3.Connection(ldap3.Server(slapd.url, get_info=ldap3.NONE), ADMIN_DN, ADMIN_PASSWORD, auto_bind=True)
    latencies: list[float] = []
    try:
        await asyncio.wait_for(sync.watchers["corp"].connected.wait(), 600)
        rng = random.Random(7)
        from sqlalchemy import text

        for n in range(count):
            p = person(rng.randrange(people))
            name = f"Изменён {n} {p.uid}"
            started = time.monotonic()
            await asyncio.to_thread(conn.modify, p.dn, {"cn": [(ldap3.MODIFY_REPLACE, [name])]})
            while True:
                async with engine.connect() as db:
                    found = await db.scalar(text("SELECT display_name FROM users WHERE login = :l"), {"l": p.uid})
                if found == name:
                    latencies.append(time.monotonic() - started)
                    break
                if time.monotonic() - started > 30:
                    raise SystemExit(f"modification {n} not visible after 30 s")
                await asyncio.sleep(0.002)
    finally:
        conn.unbind()
        await sync.stop()
        await container.get_database().close()
    return latencies


async def search_latency(db_url: str, people: int, count: int) -> tuple[dict[str, tuple[list[float], int]], float]:
    """The same ``count`` queries by four viewers: per viewer, each query's time and how many found nobody."""
    from sqlalchemy import text

    from veche.base.directory.address_book import query_key
    from veche.domain.directory import Visibility
    from veche.storage.address_book import AddressBookStore
    from veche.storage.database import Database

    db = Database(db_url)
    store = AddressBookStore(db.sessions)
    rng = random.Random(11)
    queries: list[str] = []
    for n in range(count):
        p = person(rng.randrange(people))
        kind = n % 5
        if kind == 0:
            queries.append(p.surname[: rng.randint(3, 6)])  # surname prefix, Cyrillic or Latin
        elif kind == 1:
            queries.append(p.uid[2:7])  # login substring
        elif kind == 2:
            queries.append(p.mail[3:9])  # email substring
        elif kind == 3:
            queries.append(p.phone[-7:])  # phone digits
        else:
            queries.append(p.surname[1:5].upper())  # substring, other case
    results: dict[str, tuple[list[float], int]] = {}
    try:
        async with db.engine.connect() as conn:
            teams = frozenset(
                g
                for (g,) in await conn.execute(text("SELECT id FROM directory_groups WHERE name LIKE 'team%' LIMIT 2"))
            )
            division = await conn.scalar(text("SELECT id FROM directory_groups WHERE name = 'division000'"))
            started = time.monotonic()  # the floor: a trivial round trip (this also warms the pool)
            for _ in range(200):
                await conn.execute(text("SELECT 1"))
            floor = (time.monotonic() - started) / 200
        viewers = {
            "everyone": Visibility(1, True),
            # own_department: 125,000 people, searched through the indexes with a filter
            "his department": Visibility(1, False, department="sales"),
            # own_groups: 10,000 people of a division (nested groups), searched among them
            "his division": Visibility(1, False, group_ids=frozenset({division})),
            "his two teams": Visibility(1, False, group_ids=teams),  # ~200 people
        }
        for who, viewer in viewers.items():
            times: list[float] = []
            empty = 0
            for q in queries:
                started = time.monotonic()
                found = await store.search(query_key(q), viewer, limit=20)
                times.append(time.monotonic() - started)
                empty += not found
            results[who] = (times, empty)
    finally:
        await db.close()
    return results, floor


async def create_database(pg: ThrowawayPostgres) -> str:
    conn = await asyncpg.connect(pg.dsn)
    try:
        # A UTF-8 LC_CTYPE so pg_trgm extracts trigrams from Cyrillic letters too.
        await conn.execute("CREATE DATABASE bench TEMPLATE template0 ENCODING 'UTF8' LC_CTYPE 'C.UTF-8' LC_COLLATE 'C'")
    finally:
        await conn.close()
    return pg.url.rsplit("/", 1)[0] + "/bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--resync", action="store_true", help="also time a second full sync (nothing changed)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="veche-bench-dir-"))
    print(f"command: {' '.join(sys.argv)}")
    print(f"{args.people:,} people in {args.groups:,} groups (slapd 2.5 mdb + syncprov, PostgreSQL, 2 cores)")

    started = time.monotonic()
    slapd = Slapd.create(chunks(seed(args.people, args.groups), 2000), root / "slapd")
    print(f"slapadd (generate + load):       {time.monotonic() - started:8.1f} s")
    slapd.start()
    pg = ThrowawayPostgres.start()
    try:
        db_url = asyncio.run(create_database(pg))
        print(f"baseline: DN-only paged read:    {baseline_ldap_read(slapd.url):8.1f} s")
        config = write_config(root, slapd.url, db_url)
        elapsed, rss, summary = full_sync(config)
        print(
            f"full sync (veche directory sync): {elapsed:7.1f} s   peak RSS {rss:,.0f} MiB"
            "   (target < 300 s, < 1024 MiB)"
        )
        print(f"  {summary.splitlines()[0]}")
        if args.resync:
            elapsed, rss, summary = full_sync(config)
            print(f"second full sync (no changes):   {elapsed:8.1f} s   peak RSS {rss:,.0f} MiB")

        latencies = asyncio.run(change_latency(config, slapd, args.people, args.changes))
        print(
            f"change-to-visible ({len(latencies)} modifications): p50 {pct(latencies, 0.5) * 1000:6.1f} ms   "
            f"p99 {pct(latencies, 0.99) * 1000:6.1f} ms   (target p99 < 2000 ms)"
        )
        results, floor = asyncio.run(search_latency(db_url, args.people, args.queries))
        print(
            f"search: {args.queries:,} mixed prefix/substring queries (surname prefixes, login/email/phone digits, "
            "infixes), the same by four viewers"
        )
        for who, (times, empty) in results.items():
            target = "   (target p99 < 30 ms)" if who == "everyone" else ""
            print(
                f"  by a viewer who sees {who:15} p50 {pct(times, 0.5) * 1000:5.1f} ms   "
                f"p99 {pct(times, 0.99) * 1000:6.1f} ms   max {max(times) * 1000:6.1f} ms   "
                f"found nobody {empty:4}{target}"
            )
        print(f"  baseline SELECT 1 round trip {floor * 1000:.2f} ms")
        self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  (this benchmark process peak RSS {self_rss:,.0f} MiB)")
    finally:
        slapd.stop()
        pg.stop()


if __name__ == "__main__":
    main()
