"""The signaling protocol end to end: synthetic aiortc clients, the real ``veche up`` and its real Janus.

Runs inside the test network namespace (``scripts/test``): Janus needs a non-loopback address for ICE.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from tests.support.server import VecheServer
from tests.support.signal_client import SignalError, SyntheticParticipant

pytestmark = pytest.mark.janus

_names = itertools.count(1)
MEDIA_TIMEOUT_S = 20.0


@pytest.fixture(autouse=True)
def no_leaked_janus() -> Iterator[None]:
    """Replaces tests/app/conftest.py's check: the session's ``veche up`` keeps its Janus on purpose."""
    yield


def _unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


def _user(server: VecheServer, prefix: str) -> tuple[int, str]:
    """Create a user (as the admin) and return its id and a bearer token."""
    login = _unique(prefix)
    password = secrets.token_urlsafe(12)
    created = server.api(
        "POST",
        "/api/v1/users",
        token=server.admin_token,
        json={
            "login": login,
            "display_name": login.title(),
            "email": f"{login}@example.org",
            "password": password,
            "is_admin": False,
        },
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"]), server.login(login, password)


def _conference(server: VecheServer, **fields: Any) -> dict[str, Any]:
    body = {
        "name": _unique("signaling test "),
        "type": "all_see_all",
        "max_participants": 10,
        "guests_allowed": True,
        "access": "open",
        "invited": [],
        "moderators": [],
        **fields,
    }
    created = server.api("POST", "/api/v1/conferences", token=server.admin_token, json=body)
    assert created.status_code == 201, created.text
    conference: dict[str, Any] = created.json()
    return conference


def _join(server: VecheServer, conference_id: int, token: str) -> dict[str, Any]:
    response = server.api("POST", f"/api/v1/conferences/{conference_id}/join", token=token)
    assert response.status_code == 200, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


def _guest_join(server: VecheServer, invite_code: str, display_name: str) -> dict[str, Any]:
    response = server.api("POST", f"/api/v1/invites/{invite_code}/join", json={"display_name": display_name})
    assert response.status_code == 200, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


@contextlib.asynccontextmanager
async def _participants() -> AsyncIterator[Callable[[str], SyntheticParticipant]]:
    """Hands out participants and closes every one of them at the end, whatever happened."""
    made: list[SyntheticParticipant] = []

    def make(name: str) -> SyntheticParticipant:
        participant = SyntheticParticipant(name)
        made.append(participant)
        return participant

    try:
        yield make
    finally:
        for participant in made:
            await participant.close()


async def _connect(participant: SyntheticParticipant, ticket: dict[str, Any]) -> dict[str, Any]:
    return await participant.connect(ticket["signaling_url"], ticket["ticket"])


async def test_two_publishers_decode_each_other(veche_server: VecheServer) -> None:
    conference = _conference(veche_server)
    _, alice_token = _user(veche_server, "alice")
    _, bob_token = _user(veche_server, "bob")
    async with _participants() as participant:
        alice, bob = participant("alice"), participant("bob")
        joined = await _connect(alice, _join(veche_server, conference["id"], alice_token))
        assert joined["v"] == 1
        assert joined["conference"]["id"] == conference["id"]
        assert joined["can_publish"] is True
        await _connect(bob, _join(veche_server, conference["id"], bob_token))

        alice_feed = await alice.publish_camera()
        bob_feed = await bob.publish_camera()
        assert alice_feed != bob_feed

        seen_by_alice = await alice.wait_for_video(bob_feed, frames=10, timeout=MEDIA_TIMEOUT_S)
        seen_by_bob = await bob.wait_for_video(alice_feed, frames=10, timeout=MEDIA_TIMEOUT_S)
        assert seen_by_alice.video_size == (640, 360)
        assert seen_by_bob.video_size == (640, 360)
        assert seen_by_alice.participant == bob.participant_id
        assert seen_by_alice.video_packets >= seen_by_alice.video_frames
        await alice.wait_until(lambda: seen_by_alice.audio_frames > 0, MEDIA_TIMEOUT_S, "bob's audio")
        assert alice.errors == [] and bob.errors == []


async def test_chat_reaches_everyone_including_the_sender(veche_server: VecheServer) -> None:
    conference = _conference(veche_server)
    _, alice_token = _user(veche_server, "alice")
    async with _participants() as participant:
        alice, guest = participant("alice"), participant("guest")
        await _connect(alice, _join(veche_server, conference["id"], alice_token))
        await _connect(guest, _guest_join(veche_server, conference["invite_code"], "Gina Guest"))

        reply = await guest.send_chat("hello from the guest")
        assert reply["type"] == "ok"
        for receiver in (alice, guest):
            event = await receiver.wait_for_event(
                "chat", predicate=lambda e: e["message"]["text"] == "hello from the guest"
            )
            assert event["message"]["from"] == guest.participant_id
            assert event["message"]["display_name"] == "Gina Guest"
            assert event["message"]["ts"]

        # A later joiner finds it in the history of `joined`.
        late = participant("late")
        joined = await _connect(late, _guest_join(veche_server, conference["invite_code"], "Late"))
        assert "hello from the guest" in [message["text"] for message in joined["chat"]]


async def test_late_joiner_receives_existing_feeds(veche_server: VecheServer) -> None:
    conference = _conference(veche_server)
    async with _participants() as participant:
        first, second = participant("first"), participant("second")
        await _connect(first, _guest_join(veche_server, conference["invite_code"], "First"))
        await _connect(second, _guest_join(veche_server, conference["invite_code"], "Second"))
        feeds = {await first.publish_camera(), await second.publish_camera()}
        await first.wait_for_video(timeout=MEDIA_TIMEOUT_S)

        late = participant("late")
        joined = await _connect(late, _guest_join(veche_server, conference["invite_code"], "Late"))
        assert {feed["feed"] for feed in joined["feeds"]} == feeds
        assert {p["id"] for p in joined["participants"]} >= {first.participant_id, second.participant_id}
        for feed in feeds:
            remote = await late.wait_for_video(feed, frames=5, timeout=MEDIA_TIMEOUT_S)
            assert remote.video_size == (640, 360)

        event = await first.wait_for_event(
            "participant_joined", predicate=lambda e: e["participant"]["id"] == late.participant_id
        )
        assert event["participant"]["display_name"] == "Late"
        assert event["participant"]["guest"] is True
        assert late.errors == []


async def test_listener_in_moderated_conference_may_not_publish(veche_server: VecheServer) -> None:
    conference = _conference(veche_server, type="moderated")
    _, listener_token = _user(veche_server, "listener")
    async with _participants() as participant:
        listener = participant("listener")
        joined = await _connect(listener, _join(veche_server, conference["id"], listener_token))
        assert joined["role"] == "listener"
        assert joined["can_publish"] is False

        with pytest.raises(SignalError) as refused:
            await listener.publish_camera()
        assert refused.value.code == "not_allowed"
        assert (await listener.ping())["type"] == "pong"


async def test_invalid_ticket_is_refused(veche_server: VecheServer) -> None:
    conference = _conference(veche_server)
    ticket = _guest_join(veche_server, conference["invite_code"], "Mallory")
    tampered = ticket["ticket"][:-2] + ("AA" if not ticket["ticket"].endswith("AA") else "BB")
    for bad in ("not-a-ticket", tampered):
        with pytest.raises(SignalError) as refused:
            await SyntheticParticipant("mallory").connect(ticket["signaling_url"], bad)
        assert refused.value.code == "invalid_ticket"


async def test_malformed_message_gets_bad_request_and_the_socket_stays_usable(
    veche_server: VecheServer,
) -> None:
    conference = _conference(veche_server)
    async with _participants() as participant:
        client = participant("client")
        await _connect(client, _guest_join(veche_server, conference["invite_code"], "Client"))

        await client.send_raw("{this is not json")
        error = await client.wait_for_event("error")
        assert error["code"] == "bad_request"
        assert error["message"]

        with pytest.raises(SignalError) as unknown:
            await client.request({"type": "no_such_message"})
        assert unknown.value.code == "bad_request"

        assert (await client.ping())["type"] == "pong"
        assert (await client.send_chat("still here"))["type"] == "ok"


async def test_janus_crash_sends_media_reset_and_media_flows_again(veche_server: VecheServer) -> None:
    """Kills the session server's Janus: keep this test last in the module."""
    conference = _conference(veche_server)
    async with _participants() as participant:
        first, second = participant("first"), participant("second")
        await _connect(first, _guest_join(veche_server, conference["invite_code"], "First"))
        await _connect(second, _guest_join(veche_server, conference["invite_code"], "Second"))
        await first.publish_camera()
        await second.publish_camera()
        await first.wait_for_video(frames=3, timeout=MEDIA_TIMEOUT_S)
        await second.wait_for_video(frames=3, timeout=MEDIA_TIMEOUT_S)

        crashed = veche_server.janus_pid()
        os.kill(crashed, signal.SIGKILL)

        for client in (first, second):
            await client.wait_for_event("media_reset", timeout=30)
        # On media_reset the clients drop every old feed and republish; each then sees the other's new one.
        await first.wait_for_video(frames=3, timeout=30)
        await second.wait_for_video(frames=3, timeout=30)
        assert set(first.feeds) == {second.own_feeds["camera"]}
        assert first.errors == [] and second.errors == []
        assert veche_server.janus_pid() != crashed
