"""The Mailer: renders each mail to MIME and stores it in the durable queue before :meth:`enqueue` returns; the
base role's :class:`~veche.base.notify.smtp_sender.SmtpSender` sends it. Works in any role with the database."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from email.utils import parseaddr

from veche.base.notify.mime import message_id_for, render_mail
from veche.domain.clock import Clock
from veche.domain.errors import InvalidInput
from veche.domain.notifications import Mailer, OutgoingMail
from veche.storage.notifications import MailQueueStore, QueuedMail

__all__ = ["MailOutbox"]

logger = logging.getLogger(__name__)

MAX_KEY = 255


class MailOutbox(Mailer):
    def __init__(self, store: MailQueueStore, clock: Clock, *, sender: str) -> None:
        """``sender``: the From header (e.g. "Veche <veche@example.org>")."""
        self._store = store
        self._clock = clock
        self._sender = sender
        self._domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
        self._listeners: list[Callable[[], None]] = []

    def on_enqueued(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after mails were queued in this process (the sender wakes at once)."""
        self._listeners.append(listener)

    def render(self, mail: OutgoingMail) -> QueuedMail:
        if not mail.key or len(mail.key) > MAX_KEY:
            raise InvalidInput(f"a mail's key has 1 to {MAX_KEY} characters: {mail.key[:40]!r}")
        try:
            data = render_mail(mail, sender=self._sender, domain=self._domain, date=self._clock())
        except ValueError as e:
            raise InvalidInput(f"mail {mail.key!r} cannot be sent: {e}") from e
        return QueuedMail(mail.key, mail.to, message_id_for(mail.key, self._domain), data)

    async def enqueue(self, mails: Sequence[OutgoingMail]) -> None:
        queued = [self.render(m) for m in mails]
        if not queued:
            return
        await self._store.add(queued, self._clock())
        logger.debug("queued %d mail(s)", len(queued))
        self.notify_enqueued()

    def notify_enqueued(self) -> None:
        for listener in self._listeners:
            listener()
