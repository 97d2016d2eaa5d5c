"""Drains the mail queue over SMTP (base role): claims due mails, sends them on one connection, marks each sent in
its own transaction right after the server accepted it.

Failures: a 5xx answer to a mail (sender, recipient or data refused) fails it at once, its error kept; anything
else (no connection, TLS or authentication trouble, 4xx, a dropped connection, a timeout) is retried with
exponential back-off (``smtp.retry``) until ``give_up_after_s`` after it was queued. Several base servers share the
queue: a server claims mails for ``lease_s`` (notify storage), and frees its own claims when it starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

import aiosmtplib

from veche.config.notify import SmtpConfig
from veche.domain.clock import Clock
from veche.storage.notifications import ClaimedMail, MailQueueStore
from veche.storage.unavailable import DatabaseOutageLog

__all__ = ["SendOutcome", "SmtpSender", "classify_error"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendOutcome:
    permanent: bool
    error: str


def classify_error(exc: BaseException) -> SendOutcome:
    """Whether a failure to send one mail is final (a 5xx answer to this mail) or worth retrying."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        return SendOutcome(bool(codes) and all(500 <= c < 600 for c in codes), f"recipient refused: {text}")
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):  # the relay's configuration, not this mail
        return SendOutcome(False, f"authentication failed: {exc.code} {exc.message}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return SendOutcome(500 <= exc.code < 600, f"{exc.code} {exc.message}")
    if isinstance(exc, aiosmtplib.SMTPException):
        return SendOutcome(False, f"{type(exc).__name__}: {exc}")
    return SendOutcome(False, f"{type(exc).__name__}: {exc}")


class SmtpSender:
    def __init__(self, store: MailQueueStore, config: SmtpConfig, clock: Clock, *, worker: str) -> None:
        """``worker``: this server's id (it claims mails under it)."""
        self._store = store
        self._config = config
        self._clock = clock
        self._worker = worker
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._envelope_from = parseaddr(config.from_)[1]
        self.last_error: str | None = None
        self._outage = DatabaseOutageLog(logger, "mail queue")
        self.waiting = False  # nothing due: waiting for a wake-up or the next poll

    @property
    def configured(self) -> bool:
        return bool(self._config.host)

    def wake(self) -> None:
        """Look at the queue now (mails were queued in this process)."""
        self._wake.set()

    async def start(self) -> None:
        freed = await self._store.release_claims_of(self._worker)
        if freed:
            logger.info("took back %d mail(s) this server held when it stopped", freed)
        if not self.configured:
            logger.warning("smtp.host is not set: mails are queued but not sent until it is (docs/notifications.md)")
        else:
            logger.info(
                "sending mail through %s:%d (%s)", self._config.host, self._config.effective_port, self._config.security
            )
        self._task = asyncio.create_task(self._run(), name="smtp-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def status(self) -> dict[str, Any]:
        """For the health details: whether mail goes out, the queue's counts and the last error."""
        try:
            counts: dict[str, int | None] = dict(await self._store.counts())
        except Exception:
            logger.exception("the mail queue could not be read for the health details")
            counts = {"queued": None, "sent": None, "failed": None}
        return {
            "configured": self.configured,
            "relay": f"{self._config.host}:{self._config.effective_port}" if self.configured else None,
            **counts,
            "last_error": self.last_error if self.configured else "smtp.host is not set: mails are only queued",
        }

    async def _run(self) -> None:
        while True:
            sent_any = False
            if self.configured:
                try:
                    sent_any = await self.send_due()
                    self._outage.succeeded()
                except Exception as exc:
                    if not self._outage.failed(exc):
                        logger.exception("the mail queue could not be read (tried again shortly)")
            if not sent_any:
                await self._idle()

    async def _idle(self) -> None:
        self._wake.clear()
        self.waiting = True
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._config.poll_s)
        finally:
            self.waiting = False

    async def send_due(self) -> bool:
        """Send one batch of due mails; False if there were none."""
        lease = timedelta(seconds=self._config.lease_s)
        batch = await self._store.claim(worker=self._worker, now=self._clock(), lease=lease, limit=self._config.batch)
        if not batch:
            return False
        logger.debug("sending %d mail(s)", len(batch))
        await self._send_batch(batch)
        return True

    def _client(self) -> aiosmtplib.SMTP:
        c = self._config
        return aiosmtplib.SMTP(
            hostname=c.host,
            port=c.effective_port,
            use_tls=c.security == "tls",
            start_tls=c.security == "starttls",  # required when asked for; never for "none"
            tls_context=c.tls_context() if c.security != "none" else None,
            timeout=c.timeout_s,
            username=c.username or None,
            password=c.password(),
        )

    async def _send_batch(self, batch: list[ClaimedMail]) -> None:
        client = self._client()
        try:
            await client.connect()
        except Exception as exc:  # no relay, TLS or AUTH refused: every mail of the batch waits
            outcome = classify_error(exc)
            self._note_error(f"connecting to {self._config.host}:{self._config.effective_port}: {outcome.error}")
            for mail in batch:
                await self._transient(mail, self.last_error or outcome.error)
            return
        try:
            for index, mail in enumerate(batch):
                try:
                    await client.sendmail(self._envelope_from, [mail.recipient], mail.message)
                except Exception as exc:
                    outcome = classify_error(exc)
                    if outcome.permanent:
                        logger.warning(
                            "mail %s to %s refused, not retried: %s", mail.key, mail.recipient, outcome.error
                        )
                        await self._store.fail(mail.id, error=outcome.error)
                        continue
                    self._note_error(outcome.error)
                    await self._transient(mail, outcome.error)
                    if not client.is_connected:
                        await self._store.release([m.id for m in batch[index + 1 :]])
                        return
                    continue
                await self._store.mark_sent(mail.id, self._clock())
                self.last_error = None
        finally:
            if client.is_connected:
                with contextlib.suppress(Exception):
                    await client.quit()

    def _note_error(self, error: str) -> None:
        if error != self.last_error:
            logger.warning("sending mail failed (retried with back-off): %s", error)
        self.last_error = error

    async def _transient(self, mail: ClaimedMail, error: str) -> None:
        now = self._clock()
        retry = self._config.retry
        if (now - mail.created_at).total_seconds() >= retry.give_up_after_s:
            logger.warning(
                "gave up on mail %s to %s after %d attempt(s): %s", mail.key, mail.recipient, mail.attempts + 1, error
            )
            await self._store.fail(mail.id, error=f"gave up after {mail.attempts + 1} attempt(s): {error}")
            return
        at = now + timedelta(seconds=retry.delay_s(mail.attempts + 1))
        await self._store.retry_later(mail.id, at=at, error=error)
