from __future__ import annotations

import pytest

from veche.domain.admission import ParticipantRole
from veche.domain.room import Feed, FeedSource, RoomFull, RoomParticipant, RoomState


def p(pid: str, role: ParticipantRole = ParticipantRole.SPEAKER) -> RoomParticipant:
    return RoomParticipant(id=pid, identity=f"user:{pid}", display_name=pid, role=role, guest=False)


def test_limit_enforced() -> None:
    room = RoomState(max_participants=2)
    room.add(p("a"))
    room.add(p("b"))
    with pytest.raises(RoomFull, match="full \\(2 participants\\)"):
        room.add(p("c"))


def test_leaving_takes_feeds_along() -> None:
    room = RoomState(max_participants=5)
    room.add(p("a"))
    room.add(p("b"))
    room.add_feed(Feed(1, "a", FeedSource.CAMERA))
    room.add_feed(Feed(2, "a", FeedSource.SCREEN))
    room.add_feed(Feed(3, "b", FeedSource.CAMERA))
    assert room.feed_of("a", FeedSource.SCREEN) == Feed(2, "a", FeedSource.SCREEN)
    assert {f.feed for f in room.remove("a")} == {1, 2}
    assert list(room.feeds) == [3]


def test_listener_cannot_publish() -> None:
    assert not p("l", ParticipantRole.LISTENER).can_publish
    assert p("m", ParticipantRole.MODERATOR).can_moderate
