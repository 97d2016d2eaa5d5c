"""The conference core without any protocol: members that keep the typed room events in a list."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TypeVar

import pytest

from veche.app.admission import CountedAdmission
from veche.app.conference_room import ConferenceRoom
from veche.app.fake_engine import FakeMediaEngine
from veche.app.room_member import RoomMember
from veche.domain.admission import ParticipantRole
from veche.domain.license_pools import Pool
from veche.domain.room import ChatEntry, FeedSource, ParticipantKind
from veche.domain.room_errors import ConferenceFull, LicenseExhausted, ParticipantBanned, StaleTicket
from veche.domain.room_events import (
    ChatSaid,
    FeedPublished,
    ParticipantJoined,
    ParticipantLeft,
    Removed,
    RoomEvent,
    SessionEnded,
)
from veche.domain.ticket import JoinTicket

E = TypeVar("E")


@dataclass
class RecordedMember(RoomMember):
    events: list[RoomEvent] = field(default_factory=list)
    disconnected: list[str] = field(default_factory=list)

    def deliver(self, event: RoomEvent) -> None:
        self.events.append(event)

    def disconnect(self, code: str) -> None:
        self.disconnected.append(code)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]


def ticket(
    identity: str, *, session: str = "", epoch: int = 5, role: ParticipantRole = ParticipantRole.SPEAKER
) -> JoinTicket:
    return JoinTicket(
        conference_id=1,
        conference_name="Weekly",
        conference_type="all_see_all",
        max_participants=3,
        identity=identity,
        display_name=identity.split(":")[1].title(),
        role=role,
        expires_at=int(time.time()) + 60,
        session=session,
        epoch=epoch,
    )


async def _stored(conference_id: int, entry: ChatEntry) -> None:
    pass


@pytest.fixture
def admission() -> CountedAdmission:
    return CountedAdmission({Pool.VIDEO: 3, Pool.GUESTS: 1})


@pytest.fixture
async def room(admission: CountedAdmission) -> ConferenceRoom:
    engine = FakeMediaEngine()
    await engine.start()
    return ConferenceRoom(
        1, "Weekly", "all_see_all", 3, engine, bitrate_bps=1_000_000, chat_sink=_stored, admission=admission, epoch=5
    )


async def test_members_get_typed_events_of_each_other(room: ConferenceRoom) -> None:
    anna, boris = RecordedMember(), RecordedMember()
    snapshot = await room.join(ticket("user:anna"), anna)
    assert snapshot.you.display_name == "Anna" and snapshot.you.kind == "browser"
    await room.join(ticket("user:boris"), boris, kind=ParticipantKind.GATEWAY)
    joined = anna.of(ParticipantJoined)
    assert len(joined) == 1 and joined[0].participant.kind == "gateway"
    feed, _ = await room.publish(snapshot.you.id, FeedSource.CAMERA, "v=0 offer")
    assert [e.feed.feed for e in boris.of(FeedPublished)] == [feed]
    await room.chat(snapshot.you.id, "hello")
    assert [e.entry.text for e in boris.of(ChatSaid)] == ["hello"]


async def test_every_way_out_gives_the_seat_back(room: ConferenceRoom, admission: CountedAdmission) -> None:
    moderator = await room.join(ticket("user:mod", role=ParticipantRole.MODERATOR), RecordedMember())
    leaving = await room.join(ticket("user:a"), RecordedMember())
    assert admission.in_use[Pool.VIDEO] == 2
    await room.leave(leaving.you.id)
    removed_member = RecordedMember()
    removed = await room.join(ticket("user:b"), removed_member)
    await room.moderate(moderator.you.display_name, removed.you.id, "remove")
    assert removed_member.of(Removed) and removed_member.disconnected == ["removed"]
    signed_out = RecordedMember()
    await room.join(ticket("user:c"), signed_out)
    await room.end_sessions("user:c", "signed_out", "You signed out.")
    assert signed_out.disconnected == ["signed_out"]
    assert admission.in_use[Pool.VIDEO] == 1
    await room.close()  # the server stops
    assert admission.in_use[Pool.VIDEO] == 0


async def test_the_same_session_replaces_its_older_connection(
    room: ConferenceRoom, admission: CountedAdmission
) -> None:
    old, new, watcher = RecordedMember(), RecordedMember(), RecordedMember()
    await room.join(ticket("user:w"), watcher)
    first = await room.join(ticket("guest:g", session="s1"), old)
    second = await room.join(ticket("guest:g", session="s1"), new)
    assert [e.code for e in old.of(SessionEnded)] == ["replaced"]
    assert old.disconnected == ["replaced"]
    assert [e.participant_id for e in watcher.of(ParticipantLeft)] == [first.you.id]
    assert first.you.id not in room.state.participants and second.you.id in room.state.participants
    assert admission.in_use[Pool.GUESTS] == 1 and admission.in_use[Pool.VIDEO] == 2
    # Another identity naming that session takes nobody's place.
    await room.join(ticket("user:h", session="s1"), RecordedMember())
    assert not new.disconnected and len(room.state.participants) == 3


async def test_refusals_are_named_domain_errors(room: ConferenceRoom) -> None:
    with pytest.raises(StaleTicket):
        await room.join(ticket("user:old", epoch=4), RecordedMember())
    mod = await room.join(ticket("user:mod", role=ParticipantRole.MODERATOR), RecordedMember())
    out = await room.join(ticket("user:out"), RecordedMember())
    await room.moderate("Mod", out.you.id, "remove")
    with pytest.raises(ParticipantBanned):
        await room.join(ticket("user:out"), RecordedMember())
    await room.moderate("Mod", "user:out", "readmit")
    await room.join(ticket("user:out"), RecordedMember())
    await room.join(ticket("user:third"), RecordedMember())
    with pytest.raises(ConferenceFull):
        await room.join(ticket("user:fourth"), RecordedMember())
    assert mod.you.role == "moderator"


async def test_the_license_refusal_names_the_pool(admission: CountedAdmission) -> None:
    engine = FakeMediaEngine()
    await engine.start()
    big = ConferenceRoom(2, "Big", "all_see_all", 50, engine, bitrate_bps=1, chat_sink=_stored, admission=admission)
    for n in range(3):
        await big.join(ticket(f"user:{n}"), RecordedMember())
    with pytest.raises(LicenseExhausted) as refused:
        await big.join(ticket("user:late"), RecordedMember())
    assert refused.value.message == (
        "All 3 video connections of your license are in use. Try again later or ask your administrator."
    )
    assert big.empty is False and len(big.state.participants) == 3
