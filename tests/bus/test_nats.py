"""The wire form of every message, and what only NATS has: several processes, outages, dead servers.

The semantics shared with the in-process bus are checked against both in tests/bus/test_contract.py.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import ClassVar

import pytest

from tests.support.eventually import eventually
from veche.bus import archive_messages, messages, sip_messages
from veche.bus.archive_messages import ArchiveChatPost
from veche.bus.base import BusError, NoResponder, UnexpectedReply
from veche.bus.envelope import (
    Fault,
    FaultKind,
    MalformedMessage,
    decode_message,
    decode_reply,
    encode_fault,
    encode_message,
)
from veche.bus.messages import (
    BusMessage,
    BusRequest,
    CallDismissed,
    CallSessionRecord,
    ChatPosted,
    CommandResult,
    ConferenceEnded,
    ConferenceMoved,
    EngineStatus,
    IncomingCall,
    ListParticipants,
    LiveParticipant,
    ModerateParticipant,
    NotificationsQueued,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantList,
    Ping,
    PresenceSeen,
    RecordCallSessions,
    RegisterServer,
    Registration,
    RestartServer,
    ServerFigures,
    ServerHeartbeat,
    SettingsChanged,
    ShutdownServer,
    StartDirectorySync,
    UpdateServer,
)
from veche.bus.nats import BusDisconnected, NatsBus, addressed_subject
from veche.bus.sip_messages import DialInConference, FindDialInConference
from veche.dev.nats import ThrowawayNats
from veche.domain.shared_settings import SharedSettings

SAMPLES: list[BusMessage] = [
    ServerHeartbeat(
        server_id="app-1",
        roles=["app"],
        software_version="0.1.0",
        host="10.0.0.5",
        pid=4242,
        sent_at=1700000000.25,
        media_engine=EngineStatus(name="janus", version="1.4.1", up=True, pid=4243),
        conferences=2,
        participants=7,
        region="eu-west",
        state="draining",
        signaling_url="wss://app1.example.org/ws/v1",
        figures=ServerFigures(cpu_use=0.25, cores=8, memory_rss_bytes=10**8, net_in_bps=1e6, net_out_bps=2e6),
    ),
    ParticipantJoined(server_id="app-1", conference_id=3, participant_id="p-9", identity="user:5"),
    ParticipantLeft(server_id="app-1", conference_id=3, participant_id="p-9", identity="guest:ab"),
    Ping(),
    ConferenceEnded(server_id="app-1", conference_id=3),
    ConferenceMoved(conference_id=3, from_server="app-1", to_server="app-2", epoch=4),
    RegisterServer(
        server_id="app-1", roles=["app"], host="h", name="Москва-1", region="ru", join_token="t", software_version="0.1"
    ),
    Registration(
        approved=True, name="Москва-1", region="ru", max_participants=300, settings=SharedSettings(revision=4)
    ),
    UpdateServer(draining=True, region="ru"),
    RestartServer(),
    ShutdownServer(),
    SettingsChanged(settings=SharedSettings(revision=5, guests_allowed=False, turn_servers=[{"urls": "turn:t:3478"}])),
    ChatPosted(conference_id=3, sender="u:1", display_name="Анна", text="привет \u2014 hi", ts="2024-05-01T10:00:00Z"),
    ArchiveChatPost(
        post_id="9b1f", conference_id=3, sender="p-9", display_name="Анна", text="привет", ts="2024-05-01T10:00:00Z"
    ),
    ModerateParticipant(conference_id=3, participant="p-9", action="mute", by="Boris"),
    ListParticipants(conference_id=3),
    ParticipantList(
        participants=[
            LiveParticipant(
                id="p-9", display_name="Guest", guest=True, role="guest", audio=True, video=False, force_muted=True
            )
        ]
    ),
    CommandResult(ok=False, code="not_found", message="No such participant."),
    PresenceSeen(user_id=5),
    IncomingCall(conference_id=3, caller_id=5, caller_name="Анна Петрова", callee_id=7, ring_s=45.0),
    CallDismissed(conference_id=3, callee_id=7, reason="declined"),
    StartDirectorySync(source="corp", request_id="5f0c2a9e1b7d4c3a"),
    RecordCallSessions(
        server_id="app-1",
        incarnation="3f9a",
        started_at_ms=1700000000000,
        sessions=[
            CallSessionRecord(
                session_id="app-1:p-9",
                conference_id=3,
                conference_name="Планёрка",
                identity="user:5",
                display_name="Анна",
                guest=False,
                kind="browser",
                user_agent="Mozilla/5.0",
                server_id="app-1",
                joined_at_ms=1700000000000,
                left_at_ms=1700000060000,
                revision=2,
                bytes_in=10**6,
                packets_in=900,
                lost_in=3,
            )
        ],
    ),
    NotificationsQueued(mail=True, push=True),
    FindDialInConference(number="48213577", pin="2468", caller="192.0.2.7"),
    DialInConference(
        found=True, conference_id=3, name="Планёрка", refusal="pin_required", message="Этой встрече нужен PIN."
    ),
]

Connect = Callable[..., Awaitable[NatsBus]]


def test_every_declared_message_class_has_a_sample() -> None:
    declared = {
        cls
        for module in (messages, archive_messages, sip_messages)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BusMessage) and "subject" in cls.__dict__  # not the bases (BusRequest[...])
    }
    assert declared == {type(sample) for sample in SAMPLES}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda m: type(m).__name__)
def test_message_round_trips_through_json(sample: BusMessage) -> None:
    assert decode_message(encode_message(sample), type(sample)) == sample


REQUESTS: list[BusRequest[BusMessage]] = [s for s in SAMPLES if isinstance(s, BusRequest)]


@pytest.mark.parametrize("request_sample", REQUESTS, ids=lambda m: type(m).__name__)
def test_the_declared_reply_of_every_request_round_trips(request_sample: BusRequest[BusMessage]) -> None:
    reply = next(s for s in SAMPLES if type(s) is request_sample.reply_type)
    assert decode_reply(encode_message(reply), type(request_sample)) == reply


def test_a_reply_of_another_class_names_both() -> None:
    with pytest.raises(UnexpectedReply, match=r"Ping \(veche.server.ping\) expects a CommandResult reply, got Parti"):
        decode_reply(encode_message(ParticipantList(participants=[])), Ping)


def test_settings_a_server_does_not_know_yet_are_ignored() -> None:
    """A newer manager may share a setting this version lacks: the rest still applies."""
    wire = json.loads(encode_message(SettingsChanged(settings=SharedSettings(revision=6, domain="v.example"))))
    wire["body"]["settings"]["recording_allowed"] = True
    message = decode_message(json.dumps(wire).encode(), SettingsChanged)
    assert message.settings == SharedSettings(revision=6, domain="v.example")


def test_settings_that_break_a_rule_are_refused() -> None:
    wire = json.loads(encode_message(SettingsChanged(settings=SharedSettings())))
    wire["body"]["settings"]["video_max_bitrate_bps"] = 1
    with pytest.raises(MalformedMessage, match="video_max_bitrate_bps"):
        decode_message(json.dumps(wire).encode(), SettingsChanged)


def test_a_request_class_must_declare_its_reply() -> None:
    with pytest.raises(TypeError, match="Undeclared must declare its reply"):

        class Undeclared(BusRequest):  # type: ignore[type-arg]
            subject: ClassVar[str] = "veche.test.undeclared"


def test_fault_round_trips() -> None:
    fault = decode_reply(encode_fault(FaultKind.FAILED, "app-1", "RuntimeError: boom"), Ping)
    assert fault == Fault(fault=FaultKind.FAILED, sender="app-1", detail="RuntimeError: boom")


def test_server_id_must_be_one_subject_token() -> None:
    assert addressed_subject("veche.conference.moderate", "app-1") == "veche.conference.moderate.to.app-1"
    with pytest.raises(ValueError, match="cannot address"):
        addressed_subject("veche.conference.moderate", "app.1")


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """Connect buses (each its own NATS connection, like separate processes); all closed afterwards."""
    buses: list[NatsBus] = []

    async def _connect(server: ThrowawayNats, server_id: str | None = None) -> NatsBus:
        bus = await NatsBus.connect(server.url, server_id=server_id, reconnect_wait_s=0.1, first_connect_wait_s=5)
        assert bus.is_connected
        buses.append(bus)
        return bus

    yield _connect
    for bus in buses:
        await bus.close()


async def _eventually(condition: Callable[[], bool], what: str) -> None:
    async def probe() -> bool:
        return condition()

    await eventually(probe, bool, timeout=10, interval=0.02, what=what)


async def test_every_message_class_is_published_to_another_process(
    nats_server: ThrowawayNats, connect: Connect
) -> None:
    sender, receiver = await connect(nats_server), await connect(nats_server)
    received: list[BusMessage] = []

    async def collect(message: BusMessage) -> None:
        received.append(message)

    for sample in SAMPLES:
        receiver.subscribe(type(sample), collect)
    await receiver.flush()
    for sample in SAMPLES:
        await sender.publish(sample)
    await _eventually(lambda: len(received) == len(SAMPLES), "every sample at the receiver")
    assert received == SAMPLES


async def test_request_gets_the_answer_of_the_server_that_owns_it(nats_server: ThrowawayNats, connect: Connect) -> None:
    manager, app1, app2 = (
        await connect(nats_server),
        await connect(nats_server, "app-1"),
        await connect(nats_server, "app-2"),
    )

    async def not_mine(_m: ListParticipants) -> BusMessage | None:
        return None

    async def mine(m: ListParticipants) -> BusMessage | None:
        return ParticipantList(participants=[]) if m.conference_id == 7 else None

    app1.handle(ListParticipants, not_mine)
    app2.handle(ListParticipants, mine)
    await app1.flush()
    await app2.flush()
    assert await manager.request(ListParticipants(conference_id=7)) == ParticipantList(participants=[])
    with pytest.raises(NoResponder, match="No server answered veche.conference.participants within 0.3 s"):
        await manager.request(ListParticipants(conference_id=8), timeout_s=0.3)


async def test_a_failing_handler_is_reported_unless_another_answers(
    nats_server: ThrowawayNats, connect: Connect
) -> None:
    manager, app1 = await connect(nats_server), await connect(nats_server, "app-1")

    async def broken(_m: ModerateParticipant) -> BusMessage | None:
        raise RuntimeError("janus went away")

    app1.handle(ModerateParticipant, broken)
    await app1.flush()
    with pytest.raises(BusError, match="app-1: RuntimeError: janus went away"):
        await manager.request(ModerateParticipant(conference_id=1, participant="p", action="mute", by="x"), 0.3)

    app2 = await connect(nats_server, "app-2")

    async def works(_m: ModerateParticipant) -> BusMessage | None:
        return CommandResult(ok=True)

    app2.handle(ModerateParticipant, works)
    await app2.flush()
    reply = await manager.request(ModerateParticipant(conference_id=1, participant="p", action="mute", by="x"), 1)
    assert reply == CommandResult(ok=True)


async def test_command_to_one_server_is_acknowledged_by_that_server(
    nats_server: ThrowawayNats, connect: Connect
) -> None:
    manager = await connect(nats_server)
    servers = {sid: await connect(nats_server, sid) for sid in ("app-1", "app-2")}
    for sid, bus in servers.items():

        async def acknowledge(m: ModerateParticipant, sid: str = sid) -> BusMessage | None:
            return CommandResult(ok=True, message=f"{m.action} done by {sid}")

        bus.handle(ModerateParticipant, acknowledge)
        await bus.flush()
    command = ModerateParticipant(conference_id=1, participant="p", action="remove", by="admin")
    assert await manager.request_to("app-2", command) == CommandResult(ok=True, message="remove done by app-2")
    assert await manager.request_to("app-1", command) == CommandResult(ok=True, message="remove done by app-1")


async def test_command_to_a_dead_server_fails_naming_it(nats_server: ThrowawayNats, connect: Connect) -> None:
    manager, app3 = await connect(nats_server), await connect(nats_server, "app-3")

    async def acknowledge(_m: ModerateParticipant) -> BusMessage | None:
        return CommandResult(ok=True)

    app3.handle(ModerateParticipant, acknowledge)
    await app3.flush()
    command = ModerateParticipant(conference_id=1, participant="p", action="mute", by="admin")
    assert await manager.request_to("app-3", command) == CommandResult(ok=True)
    await app3.close()  # its connection is gone, as when the process is killed
    with pytest.raises(NoResponder, match="Server app-3 is not on the bus"):
        await asyncio.wait_for(manager.request_to("app-3", command, timeout_s=1.0), 5)


async def test_publish_to_reaches_only_that_server(nats_server: ThrowawayNats, connect: Connect) -> None:
    manager = await connect(nats_server)
    servers = {sid: await connect(nats_server, sid) for sid in ("app-1", "app-2")}
    seen: list[tuple[str, bool]] = []
    for sid, bus in servers.items():

        async def collect(m: CommandResult, sid: str = sid) -> None:
            seen.append((sid, m.ok))

        bus.subscribe(CommandResult, collect)
        await bus.flush()
    await manager.publish_to("app-2", CommandResult(ok=True))
    await manager.publish(CommandResult(ok=False))
    await _eventually(lambda: len(seen) == 3, "three events")
    assert sorted(seen) == [("app-1", False), ("app-2", False), ("app-2", True)]


async def test_bus_survives_a_nats_restart(own_nats_server: ThrowawayNats, connect: Connect) -> None:
    sender, receiver = await connect(own_nats_server), await connect(own_nats_server, "app-1")
    received: list[str] = []

    async def collect(m: CommandResult) -> None:
        received.append(m.message)

    async def answer(_m: ListParticipants) -> BusMessage | None:
        return ParticipantList(participants=[])

    receiver.subscribe(CommandResult, collect)
    receiver.handle(ListParticipants, answer)
    await receiver.flush()

    own_nats_server.kill()
    await _eventually(lambda: not sender.is_connected and not receiver.is_connected, "both buses disconnected")
    await sender.publish(CommandResult(ok=True, message="while down"))  # dropped, does not raise
    with pytest.raises(BusDisconnected):
        await sender.request(ListParticipants(conference_id=1))

    own_nats_server.restart()
    assert await sender.wait_connected(10) and await receiver.wait_connected(10)
    await receiver.flush()
    await sender.publish(CommandResult(ok=True, message="after restart"))
    await _eventually(lambda: "after restart" in received, "the event sent after the restart")
    assert received == ["after restart"]
    assert await sender.request(ListParticipants(conference_id=1)) == ParticipantList(participants=[])
    assert await sender.request_to("app-1", ListParticipants(conference_id=1)) == ParticipantList(participants=[])


async def test_bus_started_before_nats_connects_when_it_comes(own_nats_server: ThrowawayNats) -> None:
    own_nats_server.kill()
    bus = await NatsBus.connect(own_nats_server.url, server_id="app-1", reconnect_wait_s=0.1, first_connect_wait_s=0.2)
    never = await NatsBus.connect(own_nats_server.url, reconnect_wait_s=0.1, first_connect_wait_s=0.1)
    try:
        assert not bus.is_connected
        await never.close()  # closing a bus that never connected does not hang
        received: list[bool] = []

        async def collect(m: CommandResult) -> None:
            received.append(m.ok)

        bus.subscribe(CommandResult, collect)
        await bus.publish(CommandResult(ok=False))  # dropped, does not raise
        own_nats_server.restart()
        assert await bus.wait_connected(10)
        await bus.publish(CommandResult(ok=True))
        await _eventually(lambda: received == [True], "the event sent once connected")
    finally:
        await bus.close()
