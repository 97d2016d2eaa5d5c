"""The issue's test: kill the base role (real processes, SIGKILL) with 100 mails queued; after the restart all 100
arrive at the SMTP sink exactly once. Two base servers (active and standby) share the queue on PostgreSQL and NATS.

The sink accepts 30 mails, then holds every further mail without answering: both base servers are in the middle
of a transaction with it (and hold claimed mails) when one is killed. A held mail is answered 451 when released
(never accepted), so a mail counts as received only when a base server got the 250 it then records.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from tests.notify.smtp_sink import SmtpSink
from tests.support.eventually import eventually
from tests.support.net import free_tcp_port
from veche.base.notify.outbox import MailOutbox
from veche.dev.nats import NatsUnavailable, ThrowawayNats
from veche.domain.clock import utc_now
from veche.domain.notifications import OutgoingMail
from veche.storage.database import Database
from veche.storage.notifications import MailQueueStore

MAILS = 100
HOLD_AFTER = 30


@dataclass
class BaseProcess:
    config: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "veche", "run", "base", "--config", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing of the process runs after it."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def nats() -> Iterator[ThrowawayNats]:
    try:
        server = ThrowawayNats.start()
    except NatsUnavailable as e:
        pytest.skip(str(e))
    yield server
    server.stop()


async def _fresh_postgres(server_url: str) -> str:
    name = f"t_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(server_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def _base(root: Path, name: str, *, database_url: str, nats_url: str, smtp_port: int) -> BaseProcess:
    data_dir = root / name
    data_dir.mkdir(parents=True)
    config = data_dir / "veche.toml"
    config.write_text(
        "\n".join(
            [
                f'data_dir = "{data_dir}"',
                "[http]",
                'host = "127.0.0.1"',
                f"port = {free_tcp_port()}",
                "tls = false",
                "[database]",
                f'url = "{database_url}"',
                "[bus]",
                f'url = "{nats_url}"',
                "[security]",
                f'secret_key_file = "{root / "secret_key"}"',
                "[cluster]",
                f'name = "{name}"',
                f'join_token_file = "{root / "join_token"}"',
                "[smtp]",
                'host = "127.0.0.1"',
                f"port = {smtp_port}",
                'security = "none"',
                'from = "Veche <veche@example.org>"',
                "poll_s = 0.2",
                "batch = 5",
                "timeout_s = 300",  # a held mail waits for the sink, not for a client timeout
                "[smtp.retry]",
                "initial_s = 0.2",
                "max_s = 1.0",
            ]
        )
        + "\n"
    )
    return BaseProcess(config, data_dir / "veche.log")


async def test_kill_the_base_role_with_100_mails_queued(postgres_url: str, nats: ThrowawayNats, tmp_path: Path) -> None:
    database_url = await _fresh_postgres(postgres_url)
    db = Database(database_url)
    await db.migrate()
    sink = SmtpSink()
    sink.handler.hold_after = HOLD_AFTER
    sink.start()
    active = _base(tmp_path, "active", database_url=database_url, nats_url=nats.url, smtp_port=sink.port)
    standby = _base(tmp_path, "standby", database_url=database_url, nats_url=nats.url, smtp_port=sink.port)
    store = MailQueueStore(db.sessions)
    try:
        outbox = MailOutbox(store, utc_now, sender="Veche <veche@example.org>")
        await outbox.enqueue(
            [
                OutgoingMail(key=f"restart:{n}", to=f"user{n}@example.org", subject=f"Mail {n}", text="Hello")
                for n in range(MAILS)
            ]
        )
        active.start()
        standby.start()

        async def holding() -> int:
            return sink.handler.holding

        await eventually(holding, lambda n: n == 2, timeout=120, what="both servers held by the sink (30 accepted)")
        active.kill()
        assert len(sink.handler.accepted) == HOLD_AFTER
        sink.handler.hold_after = None
        sink.handler.release.set()  # held mails are answered 451: retried, never counted

        active.start()  # same data directory: the same server, which frees the mails it held
        counts = await eventually(store.counts, lambda c: c["sent"] == MAILS, timeout=180, what="all mails marked sent")
        assert counts == {"queued": 0, "sent": MAILS, "failed": 0}
        received = sorted(int(str(m["Subject"]).split()[1]) for m in sink.handler.accepted)
        assert received == list(range(MAILS))  # every mail, each once
        assert len(set(sink.handler.message_ids())) == MAILS
        log = active.log.read_text()
        assert "sending mail through 127.0.0.1" in log and "took back" in log  # the mails it held when killed
    finally:
        active.stop()
        standby.stop()
        sink.stop()
        await db.close()
