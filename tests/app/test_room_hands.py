"""Raised hands and speaker roles in the conference core: who may do what, and what everyone then sees."""

from __future__ import annotations

import time

import pytest

from tests.app.test_conference_room import RecordedMember
from veche.app.conference_room import ConferenceRoom
from veche.app.fake_engine import FakeMediaEngine
from veche.app.signal_messages import Hand, Moderate, parse_client_message
from veche.app.ws_member import event_message, joined_message
from veche.domain.admission import ParticipantRole
from veche.domain.room import ChatEntry, FeedSource
from veche.domain.room_errors import NotAllowed
from veche.domain.room_events import FeedUnpublished, ParticipantUpdated, RoleChanged
from veche.domain.ticket import JoinTicket

MODERATOR, SPEAKER, LISTENER = ParticipantRole.MODERATOR, ParticipantRole.SPEAKER, ParticipantRole.LISTENER


def ticket(identity: str, role: ParticipantRole, *, session: str = "") -> JoinTicket:
    return JoinTicket(
        conference_id=1,
        conference_name="Town hall",
        conference_type="moderated",
        max_participants=10,
        identity=identity,
        display_name=identity.split(":")[1].title(),
        role=role,
        expires_at=int(time.time()) + 60,
        session=session,
    )


async def _stored(conference_id: int, entry: ChatEntry) -> None:
    pass


@pytest.fixture
async def room() -> ConferenceRoom:
    engine = FakeMediaEngine()
    await engine.start()
    return ConferenceRoom(1, "Town hall", "moderated", 10, engine, bitrate_bps=1_000_000, chat_sink=_stored)


def _updates(member: RecordedMember, participant_id: str) -> list[ParticipantUpdated]:
    return [e for e in member.events if isinstance(e, ParticipantUpdated) and e.participant.id == participant_id]


async def test_anyone_raises_his_own_hand_and_everyone_sees_it(room: ConferenceRoom) -> None:
    chair, listener, speaker = RecordedMember(), RecordedMember(), RecordedMember()
    c = await room.join(ticket("user:chair", MODERATOR), chair)
    li = await room.join(ticket("user:lena", LISTENER), listener)
    sp = await room.join(ticket("user:sam", SPEAKER), speaker)

    await room.raise_hand(li.you.id, True)
    await room.raise_hand(sp.you.id, True)  # not only listeners: anyone may ask to speak
    assert [u.participant.hand_raised for u in _updates(chair, li.you.id)] == [True]
    assert [u.participant.hand_raised for u in _updates(speaker, li.you.id)] == [True]
    assert [u.participant.hand_raised for u in _updates(chair, sp.you.id)] == [True]
    await room.raise_hand(li.you.id, True)  # raising it again changes nothing, tells nobody
    assert len(_updates(chair, li.you.id)) == 1

    await room.raise_hand(sp.you.id, False)
    assert [u.participant.hand_raised for u in _updates(chair, sp.you.id)] == [True, False]
    # The moderator may lower someone's hand too.
    await room.moderate(c.you.display_name, li.you.id, "lower_hand")
    assert _updates(listener, li.you.id)[-1].participant.hand_raised is False


async def test_only_a_moderator_may_promote(room: ConferenceRoom) -> None:
    await room.join(ticket("user:chair", MODERATOR), RecordedMember())
    li = await room.join(ticket("user:lena", LISTENER), RecordedMember())
    sp = await room.join(ticket("user:sam", SPEAKER), RecordedMember())
    for someone in (li.you.id, sp.you.id):
        with pytest.raises(NotAllowed):
            room.moderator_name(someone)  # the check the signaling edge makes before `moderate`
    assert room.state.participants[li.you.id].role is LISTENER


async def test_promotion_lowers_the_hand_and_lets_the_listener_publish(room: ConferenceRoom) -> None:
    chair, listener = RecordedMember(), RecordedMember()
    c = await room.join(ticket("user:chair", MODERATOR), chair)
    li = await room.join(ticket("user:lena", LISTENER), listener)
    with pytest.raises(NotAllowed):
        await room.publish(li.you.id, FeedSource.CAMERA, "v=0 offer")
    await room.raise_hand(li.you.id, True)

    await room.moderate(c.you.display_name, li.you.id, "make_speaker")

    assert listener.of(RoleChanged) == [RoleChanged("speaker", True, "Chair")]
    seen = _updates(chair, li.you.id)[-1].participant
    assert (seen.role, seen.hand_raised) == ("speaker", False)
    feed, answer = await room.publish(li.you.id, FeedSource.CAMERA, "v=0 offer")
    assert feed and answer

    # And back: his feeds stop, he may not publish again.
    await room.moderate(c.you.display_name, li.you.id, "make_listener")
    assert listener.of(RoleChanged)[-1] == RoleChanged("listener", False, "Chair")
    assert [e.feed_id for e in chair.of(FeedUnpublished)] == [feed]
    assert room.state.feeds == {}
    with pytest.raises(NotAllowed):
        await room.publish(li.you.id, FeedSource.CAMERA, "v=0 offer")


async def test_a_moderator_cannot_be_made_a_listener(room: ConferenceRoom) -> None:
    c = await room.join(ticket("user:chair", MODERATOR), RecordedMember())
    other = await room.join(ticket("user:vice", MODERATOR), RecordedMember())
    with pytest.raises(NotAllowed, match="moderator"):
        await room.moderate(c.you.display_name, other.you.id, "make_listener")
    assert room.state.participants[other.you.id].role is MODERATOR


async def test_the_snapshot_holds_hands_and_roles_and_a_reconnect_keeps_them(room: ConferenceRoom) -> None:
    c = await room.join(ticket("user:chair", MODERATOR), RecordedMember())
    lena = await room.join(ticket("user:lena", LISTENER, session="s1"), RecordedMember())
    max_ = await room.join(ticket("user:max", LISTENER), RecordedMember())
    await room.raise_hand(max_.you.id, True)
    await room.moderate(c.you.display_name, lena.you.id, "make_speaker")
    await room.raise_hand(lena.you.id, True)

    late = await room.join(ticket("user:late", LISTENER), RecordedMember())
    by_id = {p.id: p for p in late.participants}
    assert (by_id[max_.you.id].hand_raised, by_id[max_.you.id].role) == (True, "listener")
    assert (by_id[lena.you.id].hand_raised, by_id[lena.you.id].role) == (True, "speaker")
    message = joined_message(late, 1)
    assert {p["id"]: p["hand_raised"] for p in message["participants"]}[max_.you.id] is True

    # Lena's page reconnects (same session; her ticket still says listener): still a speaker, hand still up.
    again = await room.join(ticket("user:lena", LISTENER, session="s1"), RecordedMember())
    assert (again.you.role, again.you.hand_raised) == ("speaker", True)
    assert joined_message(again, None)["can_publish"] is True


def test_the_protocol_carries_hands_and_role_changes() -> None:
    assert parse_client_message('{"type": "hand", "id": 3, "raised": true}') == (
        3,
        Hand(type="hand", id=3, raised=True),
    )
    _, promote = parse_client_message('{"type": "moderate", "participant": "p1", "action": "make_speaker"}')
    assert isinstance(promote, Moderate) and promote.action == "make_speaker"
    assert event_message(RoleChanged("speaker", True, "Chair")) == {
        "type": "role_changed",
        "role": "speaker",
        "can_publish": True,
        "by": "Chair",
    }
