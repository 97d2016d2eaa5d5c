"""The mail queue against a real SMTP server (aiosmtpd): plain, STARTTLS and TLS with a self-signed certificate,
AUTH, a server that refuses then accepts, a 5xx that fails a mail at once, and two senders sharing one queue."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.notify.smtp_sink import SmtpSink
from tests.support.eventually import eventually
from tests.support.net import free_tcp_port
from veche.base.notify.outbox import MailOutbox
from veche.base.notify.smtp_sender import SmtpSender
from veche.base.notify.wakeup import QueueWakeup
from veche.bus.inproc import InProcessBus
from veche.config.notify import RetryPolicy, SmtpConfig
from veche.domain.clock import utc_now
from veche.domain.notifications import MailAttachment, OutgoingMail
from veche.storage.database import Database
from veche.storage.notifications import MailQueueStore

FAST_RETRY = RetryPolicy(initial_s=0.1, max_s=0.4, give_up_after_s=3600)


def _config(sink_port: int, **kw: Any) -> SmtpConfig:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": sink_port,
        "security": "none",
        "from": "Veche <veche@example.org>",
        "poll_s": 0.05,
        "retry": FAST_RETRY,
    }
    return SmtpConfig.model_validate(values | kw)


def _mail(n: int, to: str = "alice@example.org") -> OutgoingMail:
    return OutgoingMail(key=f"test:{n}:{to}", to=to, subject=f"Mail {n}", text=f"Body {n}")


@asynccontextmanager
async def _sender(db: Database, config: SmtpConfig, worker: str = "w1") -> AsyncIterator[tuple[MailOutbox, SmtpSender]]:
    store = MailQueueStore(db.sessions)
    sender = SmtpSender(store, config, utc_now, worker=worker)
    outbox = MailOutbox(store, utc_now, sender=config.from_)
    outbox.on_enqueued(sender.wake)
    await sender.start()
    try:
        yield outbox, sender
    finally:
        await sender.stop()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


async def _accepted(sink: SmtpSink, n: int, what: str) -> None:
    async def count() -> int:
        return len(sink.handler.accepted)

    await eventually(count, lambda c: c >= n, what=what)


async def test_mails_arrive_once_with_a_stable_message_id(database: Database, sink: SmtpSink) -> None:
    calendar = MailAttachment("invite.ics", 'text/calendar; method=REQUEST; charset="utf-8"', b"BEGIN:VCALENDAR\r\n")
    async with _sender(database, _config(sink.port)) as (outbox, _):
        mail = OutgoingMail(
            key="meeting:1:seq:0:bob@example.org",
            to="bob@example.org",
            subject="Invitation: Weekly",
            text="You are invited.",
            html="<p>You are invited.</p>",
            calendar=calendar,
            attachments=(calendar,),
        )
        await outbox.enqueue([mail, _mail(1)])
        await outbox.enqueue([mail])  # the same key again: not sent again
        await _accepted(sink, 2, "two mails")
        store = MailQueueStore(database.sessions)
        await eventually(store.counts, lambda c: c["sent"] == 2, what="both marked sent")
    received = {str(m["To"]): m for m in sink.handler.accepted}
    assert len(sink.handler.accepted) == 2
    invitation = received["bob@example.org"]
    assert invitation["Subject"] == "Invitation: Weekly"
    assert invitation["From"] == "Veche <veche@example.org>"
    assert str(invitation["Message-ID"]).endswith("@example.org>")
    types = [part.get_content_type() for part in invitation.walk()]
    assert "text/calendar" in types and "text/html" in types
    assert outbox.render(mail).message_id == str(invitation["Message-ID"])  # derived from the key


async def test_starttls_with_auth_and_a_self_signed_certificate(
    database: Database, self_signed: tuple[Path, Path], tmp_path: Path
) -> None:
    sink = SmtpSink(security="starttls", cert=self_signed, login="mailer", password="s3cret").start()
    password_file = tmp_path / "smtp-password"
    password_file.write_text("s3cret\n")
    config = _config(
        sink.port, security="starttls", ca_file=self_signed[0], username="mailer", password_file=password_file
    )
    try:
        async with _sender(database, config) as (outbox, _):
            await outbox.enqueue([_mail(1)])
            await _accepted(sink, 1, "the mail over STARTTLS")
        assert sink.authenticator is not None and sink.authenticator.attempts == [b"mailer"]
    finally:
        sink.stop()


async def test_implicit_tls_trusts_only_the_configured_certificate(
    database: Database, self_signed: tuple[Path, Path]
) -> None:
    sink = SmtpSink(security="tls", cert=self_signed).start()
    store = MailQueueStore(database.sessions)
    try:
        # Without the certificate trusted, the mail waits (a TLS error is retried, never sent in the clear).
        async with _sender(database, _config(sink.port, security="tls")) as (outbox, sender):
            await outbox.enqueue([_mail(1)])
            state = await eventually(
                lambda: store.state_of("test:1:alice@example.org"), lambda s: s is not None and s[1] >= 1
            )
            assert state is not None and state[0] == "queued" and "certificate" in (state[2] or "").lower()
            assert "certificate" in ((await sender.status())["last_error"] or "").lower()
        assert sink.handler.accepted == []
        async with _sender(database, _config(sink.port, security="tls", ca_file=self_signed[0])):
            await _accepted(sink, 1, "the mail over TLS")
    finally:
        sink.stop()


async def test_a_refusing_server_is_retried_until_it_accepts(database: Database) -> None:
    port = free_tcp_port()
    store = MailQueueStore(database.sessions)
    async with _sender(database, _config(port)) as (outbox, _):
        await outbox.enqueue([_mail(1), _mail(2)])
        # Nobody listens yet: the mails are retried with back-off, still queued.
        await eventually(lambda: store.state_of("test:1:alice@example.org"), lambda s: s is not None and s[1] >= 2)
        sink = SmtpSink(port=port)
        sink.handler.temporary_failures = 2  # then it answers 451 twice
        sink.start()
        try:
            await _accepted(sink, 2, "both mails after the retries")
            await eventually(store.counts, lambda c: c["sent"] == 2 and c["queued"] == 0)
        finally:
            sink.stop()
    assert sink.handler.answered_451 == 2
    assert sorted(str(m["Subject"]) for m in sink.handler.accepted) == ["Mail 1", "Mail 2"]


async def test_a_5xx_fails_the_mail_at_once_and_keeps_the_error(database: Database, sink: SmtpSink) -> None:
    sink.handler.refuse_recipients["nobody@example.org"] = "550 5.1.1 No such user here"
    store = MailQueueStore(database.sessions)
    async with _sender(database, _config(sink.port)) as (outbox, _):
        await outbox.enqueue([_mail(1, "nobody@example.org"), _mail(2)])
        await _accepted(sink, 1, "the deliverable mail")
        state = await eventually(
            lambda: store.state_of("test:1:nobody@example.org"), lambda s: s is not None and s[0] == "failed"
        )
    assert state is not None and state[1] == 1 and "550" in (state[2] or "") and "No such user" in (state[2] or "")
    assert [str(m["To"]) for m in sink.handler.accepted] == ["alice@example.org"]


async def test_gives_up_after_the_configured_time(database: Database) -> None:
    store = MailQueueStore(database.sessions)
    config = _config(free_tcp_port(), retry=RetryPolicy(initial_s=0.05, max_s=0.1, give_up_after_s=0.5))
    async with _sender(database, config) as (outbox, _):
        await outbox.enqueue([_mail(1)])
        state = await eventually(
            lambda: store.state_of("test:1:alice@example.org"), lambda s: s is not None and s[0] == "failed"
        )
    assert state is not None and "gave up after" in (state[2] or "")


async def test_two_senders_on_one_queue_send_each_mail_once(database: Database, sink: SmtpSink) -> None:
    config = _config(sink.port, batch=3)
    async with _sender(database, config, "active") as (outbox, _), _sender(database, config, "standby"):
        await outbox.enqueue([_mail(n) for n in range(60)])
        await _accepted(sink, 60, "60 mails")
        await eventually(MailQueueStore(database.sessions).counts, lambda c: c["sent"] == 60)
    ids = sink.handler.message_ids()
    assert len(ids) == 60 and len(set(ids)) == 60


async def test_without_a_host_mails_are_queued_not_sent(database: Database) -> None:
    store = MailQueueStore(database.sessions)
    async with _sender(database, SmtpConfig(host="")) as (outbox, sender):
        await outbox.enqueue([_mail(1)])
        status = await sender.status()
    assert status["configured"] is False and status["queued"] == 1
    assert "smtp.host is not set" in status["last_error"]
    assert await store.state_of("test:1:alice@example.org") == ("queued", 0, None)


async def test_a_mail_queued_by_a_web_server_wakes_the_base_server_over_the_bus(
    database: Database, sink: SmtpSink
) -> None:
    bus = InProcessBus("cluster")
    store = MailQueueStore(database.sessions)
    # The base server would look at the queue only in an hour on its own.
    sender = SmtpSender(store, _config(sink.port, poll_s=3600), utc_now, worker="base-1")
    QueueWakeup(bus).listen(mail=sender.wake, push=lambda: None)
    await sender.start()
    try:

        async def waiting() -> bool:
            return sender.waiting

        await eventually(waiting, bool, what="the base server idle")
        web_outbox = MailOutbox(MailQueueStore(database.sessions), utc_now, sender="veche@example.org")
        web_outbox.on_enqueued(QueueWakeup(bus).mail_queued)
        await web_outbox.enqueue([_mail(1)])
        await _accepted(sink, 1, "the mail, sent as soon as the bus said so")
    finally:
        await sender.stop()
