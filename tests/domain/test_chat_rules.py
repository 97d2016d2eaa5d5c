"""Who may read a conference's chat, a direct chat's key, what a message and a search may be."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from veche.domain.chat_access import ChatRef
from veche.domain.chat_rules import clean_query, clean_text, direct_pair, like_pattern, may_read_conference_chat
from veche.domain.errors import InvalidInput
from veche.domain.model import Conference, ConferenceAccess, ConferenceType, User


def conference(**kw: object) -> Conference:
    fields: dict[str, object] = dict(
        id=12,
        name="Weekly",
        owner_id=1,
        type=ConferenceType.ALL_SEE_ALL,
        max_participants=10,
        guests_allowed=False,
        access=ConferenceAccess.INVITED,
        invite_code="code",
        slug="slug",
        call_pair=None,
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        invited=frozenset({3}),
        moderators=frozenset({2}),
    )
    fields.update(kw)
    return Conference(**fields)  # type: ignore[arg-type]


def user(user_id: int, **kw: object) -> User:
    return User(id=user_id, login=f"u{user_id}", display_name="U", email="", is_admin=False, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("who", "allowed"),
    [(user(1), True), (user(2), True), (user(3), True), (user(4), False), (user(3, disabled=True), False)],
    ids=["owner", "moderator", "invited", "stranger", "disabled invited"],
)
def test_an_invite_only_conferences_chat_is_its_peoples(who: User, allowed: bool) -> None:
    assert may_read_conference_chat(conference(), who, None) is allowed


def test_an_open_conferences_chat_is_everyones_and_admins_read_any() -> None:
    assert may_read_conference_chat(conference(access=ConferenceAccess.OPEN), user(9), None)
    admin = User(id=9, login="a", display_name="A", email="", is_admin=True)
    assert may_read_conference_chat(conference(), admin, None)


def test_guests_read_only_their_conferences_chat_and_only_while_guests_may_come() -> None:
    assert may_read_conference_chat(conference(guests_allowed=True), None, 12)
    assert not may_read_conference_chat(conference(guests_allowed=True), None, 13)
    assert not may_read_conference_chat(conference(guests_allowed=False), None, 12)
    assert not may_read_conference_chat(conference(guests_allowed=True), None, None)


def test_a_direct_chat_has_one_key_whoever_starts_it() -> None:
    assert direct_pair(7, 3) == direct_pair(3, 7) == "3:7"
    with pytest.raises(InvalidInput, match="two different people"):
        direct_pair(5, 5)


def test_message_text_and_search_text() -> None:
    assert clean_text("  hello \n") == "hello"
    with pytest.raises(InvalidInput, match="cannot be empty"):
        clean_text(" \t ")
    with pytest.raises(InvalidInput, match="at most 4000"):
        clean_text("x" * 4001)
    assert clean_query(" Budget ") == "budget"
    with pytest.raises(InvalidInput):
        clean_query("   ")
    assert like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"


def test_chat_references_round_trip() -> None:
    assert ChatRef.parse(ChatRef("conference", 12).key) == ChatRef("conference", 12)
    with pytest.raises(ValueError, match="not a chat reference"):
        ChatRef.parse("room:1")
