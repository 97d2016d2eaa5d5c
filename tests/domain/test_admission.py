from __future__ import annotations

from datetime import UTC, datetime

import pytest

from veche.domain.admission import ParticipantRole, admit_guest, admit_user, may_manage, may_see
from veche.domain.errors import Forbidden, NotFound
from veche.domain.model import Conference, ConferenceAccess, ConferenceType, User


def user(uid: int, admin: bool = False, disabled: bool = False) -> User:
    return User(id=uid, login=f"u{uid}", display_name=f"U{uid}", email="", is_admin=admin, disabled=disabled)


def conference(**kw: object) -> Conference:
    fields: dict[str, object] = dict(
        id=1,
        name="Board",
        owner_id=1,
        type=ConferenceType.ALL_SEE_ALL,
        max_participants=10,
        guests_allowed=False,
        access=ConferenceAccess.OPEN,
        invite_code="x",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    fields.update(kw)
    return Conference(**fields)  # type: ignore[arg-type]


def test_open_conference_admits_every_user_as_speaker() -> None:
    assert admit_user(conference(), user(5)) is ParticipantRole.SPEAKER


def test_owner_moderators_and_admins_moderate() -> None:
    c = conference(moderators=frozenset({3}))
    assert admit_user(c, user(1)) is ParticipantRole.MODERATOR
    assert admit_user(c, user(3)) is ParticipantRole.MODERATOR
    assert admit_user(c, user(9, admin=True)) is ParticipantRole.MODERATOR
    assert may_manage(c, user(3)) and not may_manage(c, user(4))


def test_invited_only_refuses_others_as_if_it_did_not_exist() -> None:
    c = conference(access=ConferenceAccess.INVITED, invited=frozenset({2}))
    assert may_see(c, user(2)) and not may_see(c, user(4))
    with pytest.raises(NotFound) as refused:
        admit_user(c, user(4))
    assert "Board" not in refused.value.message and "does not exist or you may not see it" in refused.value.message


def test_moderated_conference_makes_ordinary_users_listeners() -> None:
    c = conference(type=ConferenceType.MODERATED)
    assert admit_user(c, user(4)) is ParticipantRole.LISTENER
    assert admit_user(c, user(1)) is ParticipantRole.MODERATOR


def test_disabled_user_refused() -> None:
    with pytest.raises(Forbidden, match="disabled"):
        admit_user(conference(), user(4, disabled=True))


def test_guests_only_where_allowed() -> None:
    with pytest.raises(Forbidden, match="does not allow guests"):
        admit_guest(conference())
    assert admit_guest(conference(guests_allowed=True)) is ParticipantRole.SPEAKER
    assert admit_guest(conference(guests_allowed=True, type=ConferenceType.MODERATED)) is ParticipantRole.LISTENER
