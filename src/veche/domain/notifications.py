"""What other services hand to the notification service: mails to send and notices for users.

The base role's notification service (base/notify/) implements :class:`Mailer` with a durable queue that an SMTP
sender drains, and :class:`Notifier` with in-app notices, Web Push and mobile push, as each user's preferences say.
Callers never talk SMTP or push themselves; tests hand these protocols a list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

__all__ = ["MailAttachment", "Mailer", "Notice", "NoticeKind", "Notifier", "OutgoingMail"]


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str  # e.g. 'text/calendar; method=REQUEST; charset="utf-8"'
    data: bytes


@dataclass(frozen=True)
class OutgoingMail:
    """One message to one recipient. ``key`` makes it idempotent: a mail enqueued again under a key already queued
    or sent is not sent again (e.g. "meeting:12:seq:3:alice@example.org")."""

    key: str
    to: str
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[MailAttachment, ...] = ()
    # Sent as the text/calendar alternative part as well (what Outlook needs to show an invitation inline).
    calendar: MailAttachment | None = None
    headers: tuple[tuple[str, str], ...] = field(default=())


class Mailer(Protocol):
    async def enqueue(self, mails: Sequence[OutgoingMail]) -> None:
        """Queue the mails durably (they survive a restart); returns once stored, before they are sent."""


NoticeKind = Literal["invitation", "reminder", "missed_call", "message", "meeting_changed", "meeting_cancelled"]


@dataclass(frozen=True)
class Notice:
    """Something a user should learn of: shown in the app and pushed to his browsers and devices, as his
    preferences for ``kind`` say. ``key`` makes it idempotent per user (a notice is delivered once)."""

    key: str
    user_id: int
    kind: NoticeKind
    title: str
    body: str
    url: str  # where clicking it leads, a path of the web UI (e.g. "/meetings/12")
    # The mail that carries the notice when his preferences for ``kind`` want e-mail (e.g. an invitation with its
    # iCalendar; sent instead of, never besides, the plain mail made of title, body and url). A caller that gives
    # a notice must not also enqueue that mail himself: the user's preferences decide.
    mail: OutgoingMail | None = None


class Notifier(Protocol):
    async def notify(self, notices: Sequence[Notice]) -> None:
        """Store the notices and deliver them (in-app at once; push in the background)."""
