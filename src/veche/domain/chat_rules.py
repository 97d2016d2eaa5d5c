"""Rules of the persistent chats, pure: who may read a conference's chat, the key of a direct chat, message text,
search text, page sizes. base/chats/ applies them; storage/chats.py keeps what they allow."""

from __future__ import annotations

from veche.domain.admission import may_see
from veche.domain.errors import InvalidInput
from veche.domain.model import Conference, User

__all__ = [
    "MAX_GROUP_MEMBERS",
    "MAX_PAGE",
    "MAX_QUERY",
    "MAX_TEXT",
    "clean_query",
    "clean_text",
    "direct_pair",
    "like_pattern",
    "may_read_conference_chat",
]

MAX_TEXT = 4000  # as a conference chat message (app/signal_messages.Chat)
MAX_QUERY = 100
MAX_PAGE = 100
MAX_GROUP_MEMBERS = 200


def direct_pair(a: int, b: int) -> str:
    """The one key of the direct chat between two users, whoever starts it: "<lower id>:<higher id>"."""
    if a == b:
        raise InvalidInput("A direct chat needs two different people.")
    low, high = sorted((a, b))
    return f"{low}:{high}"


def may_read_conference_chat(conference: Conference, user: User | None, guest_of: int | None) -> bool:
    """Who may read a conference's chat: whoever may join the conference — its owner, moderators, invited users,
    every user for an open conference, administrators (:func:`may_see`) — unless disabled; and a guest of this
    very conference while it allows guests."""
    if user is not None:
        return not user.disabled and may_see(conference, user)
    return guest_of == conference.id and conference.guests_allowed


def clean_text(text: str) -> str:
    """A message's text, stripped; :class:`InvalidInput` when empty or too long."""
    stripped = text.strip()
    if not stripped:
        raise InvalidInput("A chat message cannot be empty.")
    if len(stripped) > MAX_TEXT:
        raise InvalidInput(f"A chat message must be at most {MAX_TEXT} characters.")
    return stripped


def clean_query(q: str) -> str:
    """What to search for: case-folded, stripped; :class:`InvalidInput` when empty or too long."""
    query = q.strip().lower()
    if not query:
        raise InvalidInput("Say what to search for (q).")
    if len(query) > MAX_QUERY:
        raise InvalidInput(f"The search text must be at most {MAX_QUERY} characters.")
    return query


def like_pattern(query: str) -> str:
    r"""A LIKE pattern matching ``query`` anywhere, its own % _ and \ taken literally (escape character \)."""
    literal = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{literal}%"
