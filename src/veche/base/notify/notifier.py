"""The Notifier: stores each notice (once per user and key) together with what delivers it, as the user's
preferences for its kind say: one push per browser subscription and device, and a mail through the queue. All of
it in one transaction, so a notice is never stored without its deliveries; the base role's push sender and SMTP
sender deliver them in the background, retried. Works in any role with the database.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence

from veche.base.notify.outbox import MailOutbox
from veche.domain.clock import Clock
from veche.domain.notifications import Notice, Notifier, OutgoingMail
from veche.storage.notifications import KindPreference, NoticeStore

__all__ = ["NotificationService", "mail_key_for"]

logger = logging.getLogger(__name__)


def mail_key_for(notice: Notice) -> str:
    """The mail queue's key of the mail that carries ``notice`` (a long key is hashed to fit)."""
    key = f"notice:{notice.user_id}:{notice.key}"
    return (
        key if len(key) <= 255 else f"notice:{notice.user_id}:sha256:{hashlib.sha256(notice.key.encode()).hexdigest()}"
    )


class NotificationService(Notifier):
    def __init__(self, store: NoticeStore, mailer: MailOutbox, clock: Clock, *, public_url: str = "") -> None:
        """``public_url``: where people reach the web UI (links in mails are made absolute with it)."""
        self._store = store
        self._mailer = mailer
        self._clock = clock
        self._public_url = public_url.rstrip("/")
        self._listeners: list[Callable[[], None]] = []

    @property
    def store(self) -> NoticeStore:
        """His notices and preferences (the API reads and changes them here)."""
        return self._store

    def on_pushes_queued(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after pushes were queued in this process (the push sender wakes at once)."""
        self._listeners.append(listener)

    async def notify(self, notices: Sequence[Notice]) -> None:
        pushed = mailed = False
        for notice in notices:
            recipient = await self._store.recipient(notice.user_id)
            if recipient is None:
                logger.info("notice %s not stored: user %d does not exist or is disabled", notice.key, notice.user_id)
                continue
            preference = recipient.preferences.get(notice.kind) or KindPreference.default(notice.kind)
            mail = None
            if preference.email and notice.mail is not None:
                mail = self._mailer.render(notice.mail)
            elif preference.email and recipient.email:
                mail = self._mailer.render(self._mail_of(notice, recipient.email))
            notice_id = await self._store.add(notice, now=self._clock(), push=preference.push, mail=mail)
            if notice_id is not None:
                pushed = pushed or preference.push
                mailed = mailed or mail is not None
        if pushed:
            for listener in self._listeners:
                listener()
        if mailed:
            self._mailer.notify_enqueued()

    def _mail_of(self, notice: Notice, address: str) -> OutgoingMail:
        link = f"{self._public_url}{notice.url}" if self._public_url and notice.url.startswith("/") else notice.url
        text = f"{notice.body}\n\n{link}\n" if link else f"{notice.body}\n"
        return OutgoingMail(key=mail_key_for(notice), to=address, subject=notice.title, text=text)
