"""Directory benchmark: full sync and re-sync of a large slapd into PostgreSQL, change-to-visible latency, search.

    .venv/bin/python bench/directory.py                       # 1,000,000 people in 10,000 groups
    .venv/bin/python bench/directory.py --people 100000 --groups 1000

Starts its own slapd (seeded with slapadd) and PostgreSQL in temporary directories, prints figures, asserts
nothing. Baselines measured in the same run: a DN-only paged read of the directory (the LDAP floor of a sync),
a trivial query round trip (the database floor of a search), and for each access level an unoptimised reference
query (the visibility rule as a plain filter, the planner free to choose) over the same data, whose answers the
optimised search's are compared with where the answer is complete (fewer than 20 people).
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


DATA_TABLES = (
    "users",
    "directory_entries",
    "directory_groups",
    "directory_group_members",
    "directory_group_closure",
    "directory_user_groups",
    "directory_scope_members",
)


async def rows_written(db_url: str) -> dict[str, int]:
    """Rows inserted, updated and deleted so far per directory table (PostgreSQL's statistics)."""
    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del AS n FROM pg_stat_user_tables "
            "WHERE relname = ANY($1::text[])",
            list(DATA_TABLES),
        )
    finally:
        await conn.close()
    return {r["relname"]: int(r["n"]) for r in rows}


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


REFERENCE = """
SELECT e.user_id,
  CASE WHEN e.name_key >= :k AND e.name_key < :u THEN 0
       WHEN split_part(e.name_key, ' ', 2) >= :k AND split_part(e.name_key, ' ', 2) < :u THEN 1
       WHEN split_part(e.name_key, ' ', 3) >= :k AND split_part(e.name_key, ' ', 3) < :u THEN 2
       WHEN e.login_key >= :k AND e.login_key < :u THEN 3
       WHEN e.email_key >= :k AND e.email_key < :u THEN 4 ELSE 10 END AS rank
FROM directory_entries e JOIN users u ON u.id = e.user_id
WHERE NOT u.disabled AND ({visible}) AND ({match})
ORDER BY rank, e.name_key LIMIT 20
"""
PREFIXES = (
    "(e.name_key >= :k AND e.name_key < :u) OR (split_part(e.name_key, ' ', 2) >= :k AND "
    "split_part(e.name_key, ' ', 2) < :u) OR (split_part(e.name_key, ' ', 3) >= :k AND "
    "split_part(e.name_key, ' ', 3) < :u) OR (e.login_key >= :k AND e.login_key < :u) OR "
    "(e.email_key >= :k AND e.email_key < :u)"
)


def reference_query(key: str, viewer: Any) -> tuple[str, dict[str, Any]]:
    """The unoptimised reference: the visibility rule (domain.directory.Visibility) as a plain filter."""
    params: dict[str, Any] = {"k": key, "u": key[:-1] + chr(ord(key[-1]) + 1), "l": f"%{key}%", "v": viewer.viewer_id}
    visible = ["true"] if viewer.everyone else ["e.user_id = :v"]
    if viewer.department:
        visible.append("e.department_key = :d")
        params["d"] = viewer.department
    if viewer.group_ids:
        visible.append(
            "EXISTS (SELECT 1 FROM directory_user_groups g WHERE g.user_id = e.user_id AND g.group_id = ANY(:g))"
        )
        params["g"] = sorted(viewer.group_ids)
    match = "e.search_text LIKE :l" if len(key) >= 3 else PREFIXES
    return REFERENCE.format(visible=" OR ".join(visible), match=match), params


@dataclass
class LevelFigures:
    times: list[float] = field(default_factory=list)
    empty: int = 0
    reference_times: list[float] = field(default_factory=list)
    compared: int = 0  # answers complete (fewer than 20 people) in the reference, compared as sets
    differ: int = 0


async def search_latency(
    db_url: str, people: int, count: int, reference_count: int
) -> tuple[dict[str, LevelFigures], float]:
    """The same ``count`` queries by four viewers, and the first ``reference_count`` of them as the reference."""
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
    results: dict[str, LevelFigures] = {}
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
            # own_department: 125,000 people at 1M, by the (department, key) indexes
            "his department": Visibility(1, False, department="sales"),
            # own_groups: 10,000 people of a division (nested groups), by its scope rows (group, key)
            "his division": Visibility(1, False, group_ids=frozenset({division})),
            "his two teams": Visibility(1, False, group_ids=teams),  # ~200 people, probed one by one
        }
        for who, viewer in viewers.items():
            figures = results[who] = LevelFigures()
            answers: list[set[int]] = []
            for q in queries:
                started = time.monotonic()
                found = await store.search(query_key(q), viewer, limit=20)
                figures.times.append(time.monotonic() - started)
                figures.empty += not found
                answers.append({e.user_id for e in found})
            async with db.engine.connect() as conn:
                for q, answer in zip(queries[:reference_count], answers, strict=False):
                    sql, params = reference_query(query_key(q), viewer)
                    started = time.monotonic()
                    expected = {r[0] for r in await conn.execute(text(sql), params)}
                    figures.reference_times.append(time.monotonic() - started)
                    if len(expected) < 20:
                        figures.compared += 1
                        figures.differ += expected != answer
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
    parser.add_argument("--reference-queries", type=int, default=100, help="queries timed with the reference too")
    parser.add_argument("--resync", action="store_true", help="(the re-sync always runs; kept for old commands)")
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
            "   (target < 120 s, < 256 MiB)"
        )
        print(f"  {summary.splitlines()[-1]}")
        before = asyncio.run(rows_written(db_url))
        elapsed, rss, summary = full_sync(config)
        after = asyncio.run(rows_written(db_url))
        print(f"re-sync, nothing changed:         {elapsed:7.1f} s   peak RSS {rss:,.0f} MiB   (target < 60 s)")
        print(f"  {summary.splitlines()[-1]}")
        written = {t: after.get(t, 0) - before.get(t, 0) for t in DATA_TABLES}
        print(
            f"  rows written by the re-sync: {sum(written.values()):,} "
            f"({', '.join(f'{t} {n:,}' for t, n in written.items())})   (target 0)"
        )

        latencies = asyncio.run(change_latency(config, slapd, args.people, args.changes))
        print(
            f"change-to-visible ({len(latencies)} modifications): p50 {pct(latencies, 0.5) * 1000:6.1f} ms   "
            f"p99 {pct(latencies, 0.99) * 1000:6.1f} ms   (target p99 < 2000 ms)"
        )
        results, floor = asyncio.run(search_latency(db_url, args.people, args.queries, args.reference_queries))
        print(
            f"search: {args.queries:,} mixed prefix/substring queries (surname prefixes, login/email/phone digits, "
            "infixes), the same by four viewers (target p99 < 30 ms each); the reference: the first "
            f"{args.reference_queries} of them as a plain filtered query"
        )
        for who, f in results.items():
            ref = f.reference_times
            print(
                f"  by a viewer who sees {who:15} p50 {pct(f.times, 0.5) * 1000:5.1f} ms   "
                f"p99 {pct(f.times, 0.99) * 1000:6.1f} ms   max {max(f.times) * 1000:6.1f} ms   "
                f"found nobody {f.empty:4}   reference p50 {pct(ref, 0.5) * 1000:6.1f} ms "
                f"p99 {pct(ref, 0.99) * 1000:6.1f} ms   same people {f.compared - f.differ}/{f.compared}"
            )
        print(f"  baseline SELECT 1 round trip {floor * 1000:.2f} ms")
        self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  (this benchmark process peak RSS {self_rss:,.0f} MiB)")
    finally:
        slapd.stop()
        pg.stop()


if __name__ == "__main__":
    main()
