"""Signed links in invitation mails: an invitee answers (accept / decline / tentative) without logging in, and the
link names only him. HMAC-SHA256 over the invitee and the meeting, under the server's secret key; pure."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from veche.domain.errors import NotFound

__all__ = ["AnswerLink", "read_answer_token", "answer_token"]

_BAD = "This answer link is not valid (the meeting may have been cancelled)."


@dataclass(frozen=True)
class AnswerLink:
    meeting_id: int
    invitee_id: int


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, b"meeting-answer:" + body.encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def answer_token(key: bytes, meeting_id: int, invitee_id: int) -> str:
    body = f"{meeting_id}.{invitee_id}"
    return f"{body}.{_mac(key, body)}"


def read_answer_token(key: bytes, token: str) -> AnswerLink:
    """The link's meeting and invitee, or :class:`NotFound` for anything not signed by us."""
    parts = token.split(".")
    if len(parts) != 3 or not all(p.isdigit() and len(p) <= 19 for p in parts[:2]):
        raise NotFound(_BAD)
    body = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(parts[2], _mac(key, body)):
        raise NotFound(_BAD)
    return AnswerLink(meeting_id=int(parts[0]), invitee_id=int(parts[1]))
