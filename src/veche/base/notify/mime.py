"""Renders an :class:`OutgoingMail` to the MIME bytes the queue stores (pure: no I/O).

The Message-ID is derived from the mail's key, so a mail has one Message-ID however often it is attempted (and a
receiving server that sees it twice can tell). Layout: multipart/alternative of text/plain, text/html (if any) and
text/calendar (if any, what Outlook shows inline), inside multipart/mixed when there are attachments.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.utils import format_datetime

from veche.domain.notifications import MailAttachment, OutgoingMail

__all__ = ["message_id_for", "render_mail"]

_OWN_HEADERS = {"from", "to", "subject", "date", "message-id", "mime-version", "content-type"}


def message_id_for(key: str, domain: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def _content_type(attachment: MailAttachment) -> tuple[str, str, dict[str, str]]:
    parsed = Message()
    parsed["Content-Type"] = attachment.content_type
    params = {k: v for k, v in (parsed.get_params() or [])[1:] if k.lower() != "charset"}
    return parsed.get_content_maintype(), parsed.get_content_subtype(), params


def render_mail(mail: OutgoingMail, *, sender: str, domain: str, date: datetime) -> bytes:
    """The mail as MIME bytes (CRLF line ends, as SMTP sends them). Raises ValueError for a header with a line
    break or an address that is not one."""
    if "@" not in mail.to or any(c in mail.to for c in "\r\n,;<>"):
        raise ValueError(f"not a single mail address: {mail.to!r}")
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id_for(mail.key, domain)
    for name, value in mail.headers:
        if name.lower() in _OWN_HEADERS:
            raise ValueError(f"header {name!r} is set by the mailer")
        msg[name] = value
    msg.set_content(mail.text)
    if mail.html is not None:
        msg.add_alternative(mail.html, subtype="html")
    if mail.calendar is not None:
        maintype, subtype, params = _content_type(mail.calendar)
        msg.add_alternative(mail.calendar.data.decode(), subtype=subtype, params=params)
        if maintype != "text":
            raise ValueError("the calendar part must be text/calendar")
    for attachment in mail.attachments:
        maintype, subtype, params = _content_type(attachment)
        msg.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename, params=params
        )
    return msg.as_bytes()
