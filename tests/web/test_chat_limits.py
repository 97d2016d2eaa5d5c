"""Chat flood at the WebSocket edge: a burst is accepted, the rest refused with `rate_limited`, nothing stored."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import Api
from tests.web.test_signaling_ws import joined, stored_texts, ticket, until
from veche.app.conference_room import ConferenceRoom
from veche.domain.chat_rate import DEFAULT_BURST


class FakeSeconds:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _room(api: Api, conference_id: int) -> ConferenceRoom:
    return api.container.get_app_service()._rooms[conference_id]


def _replies(ws: Any, ids: set[int]) -> dict[int, dict[str, Any]]:
    """The answers (`ok` or `error`) to the requests ``ids``, skipping events."""
    replies: dict[int, dict[str, Any]] = {}
    while set(replies) != ids:
        message = ws.receive_json()
        if message["type"] in ("ok", "error") and message.get("id") in ids:
            replies[message["id"]] = message
    return replies


def test_chat_flood_is_cut_to_the_burst_and_resumes_later(api: Api) -> None:
    _, anna = api.user("anna")
    conf = api.conference(api.admin_token)
    with joined(api, ticket(api, conf["id"], api.admin_token)) as (a, _):
        clock = FakeSeconds()
        _room(api, conf["id"]).clock_s = clock
        with joined(api, ticket(api, conf["id"], anna)) as (b, _):
            until(a, "participant_joined")
            ids = set(range(100, 150))
            for i in sorted(ids):
                b.send_json({"type": "chat", "id": i, "text": f"flood {i}"})
            replies = _replies(b, ids)
            accepted = sorted(i for i, r in replies.items() if r["type"] == "ok")
            refused = [r for r in replies.values() if r["type"] == "error"]
            assert accepted == list(range(100, 100 + DEFAULT_BURST))
            assert len(refused) == 50 - DEFAULT_BURST
            assert {(r["code"], r["message"]) for r in refused} == {
                ("rate_limited", "You are sending messages too fast; wait a moment.")
            }
            # Only the accepted ones reached the others and the archive.
            seen = [until(a, "chat")["message"]["text"] for _ in range(DEFAULT_BURST)]
            assert seen == [f"flood {i}" for i in accepted]
            assert stored_texts(api, conf["id"], len(seen)) == seen

            # Later (the room's clock moved on, no sleeping): accepted again, and shown.
            clock.now += 5.0
            b.send_json({"type": "chat", "id": 200, "text": "after a pause"})
            assert _replies(b, {200})[200]["type"] == "ok"
            assert until(a, "chat")["message"]["text"] == "after a pause"
            # The admin's bucket is his own: Anna's flood does not silence him.
            a.send_json({"type": "chat", "id": 201, "text": "hello"})
            assert _replies(a, {201})[201]["type"] == "ok"
    stored = stored_texts(api, conf["id"], DEFAULT_BURST + 2)
    assert len(stored) == DEFAULT_BURST + 2 and stored[-2:] == ["after a pause", "hello"]
