"""The signaling protocol at the WebSocket edge, with the in-memory media engine (docs/protocol.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from starlette.testclient import WebSocketTestSession

from tests.support.eventually import eventually
from tests.web.conftest import Api


@contextmanager
def joined(api: Api, ticket: str) -> Iterator[tuple[WebSocketTestSession, dict[str, Any]]]:
    with api.client.websocket_connect("/ws/v1") as ws:
        ws.send_json({"type": "join", "v": 1, "ticket": ticket, "id": 1})
        hello = ws.receive_json()
        yield ws, hello


def ticket(api: Api, conf_id: int, token: str) -> str:
    return str(api.call("POST", f"/conferences/{conf_id}/join", token).json()["ticket"])


def stored_texts(api: Api, conference_id: int, count: int) -> list[str]:
    """The archived chat once it holds ``count`` messages: the archive stores what the bus delivers, a moment later."""
    history = api.container.get_chat_archive().history

    async def probe() -> list[str]:
        return [m.text for m in await history(conference_id)]

    wait = partial(eventually, probe, lambda texts: len(texts) >= count, timeout=10, interval=0.02, what="the archive")
    return api.client.portal.call(wait)  # type: ignore[union-attr, no-any-return]


def until(ws: WebSocketTestSession, type_: str) -> dict[str, Any]:
    for _ in range(20):
        message = ws.receive_json()
        if message["type"] == type_:
            return dict(message)
    raise AssertionError(f"no {type_}")


def test_publish_subscribe_chat_between_two(api: Api) -> None:
    _, anna = api.user("anna")
    _, boris = api.user("boris")
    conf = api.conference(api.admin_token)
    with joined(api, ticket(api, conf["id"], anna)) as (a, hello_a):
        assert hello_a["type"] == "joined" and hello_a["id"] == 1
        assert hello_a["role"] == "speaker" and hello_a["can_publish"]
        a.send_json({"type": "publish", "id": 2, "source": "camera", "sdp": "v=0 offer"})
        published = until(a, "published")
        assert published["id"] == 2 and published["sdp"] and published["feed"] > 0
        with joined(api, ticket(api, conf["id"], boris)) as (b, hello_b):
            assert [f["feed"] for f in hello_b["feeds"]] == [published["feed"]]
            assert {p["display_name"] for p in hello_b["participants"]} == {"Anna", "Boris"}
            assert until(a, "participant_joined")["participant"]["display_name"] == "Boris"
            b.send_json({"type": "subscribe", "id": 3, "feed": published["feed"]})
            offer = until(b, "subscription_offer")
            assert offer["id"] == 3 and offer["sdp"]
            b.send_json({"type": "subscription_answer", "id": 4, "feed": published["feed"], "sdp": "v=0 answer"})
            assert until(b, "ok")["id"] == 4
            b.send_json({"type": "substream", "id": 5, "feed": published["feed"], "substream": 0})
            assert until(b, "ok")["id"] == 5
            b.send_json({"type": "chat", "id": 6, "text": "Привет!"})
            message = until(a, "chat")["message"]
            assert message["text"] == "Привет!" and message["display_name"] == "Boris"
        assert until(a, "participant_left")["participant"] == hello_b["participant"]
    assert stored_texts(api, conf["id"], 1) == ["Привет!"]


def test_listener_cannot_publish_in_moderated(api: Api) -> None:
    _, anna = api.user("anna")
    conf = api.conference(api.admin_token, type="moderated")
    with joined(api, ticket(api, conf["id"], anna)) as (ws, hello):
        assert hello["role"] == "listener" and not hello["can_publish"]
        ws.send_json({"type": "publish", "id": 7, "source": "camera", "sdp": "v=0"})
        error = until(ws, "error")
        assert error["id"] == 7 and error["code"] == "not_allowed"


def test_bad_messages_get_clear_errors_and_socket_stays(api: Api) -> None:
    conf = api.conference(api.admin_token)
    with joined(api, ticket(api, conf["id"], api.admin_token)) as (ws, _):
        ws.send_text("{not json")
        assert until(ws, "error") == {"type": "error", "code": "bad_request", "message": "Message is not valid JSON."}
        ws.send_json({"type": "subscribe", "id": 9})
        error = until(ws, "error")
        assert error["id"] == 9 and error["code"] == "bad_request" and "feed" in error["message"]
        ws.send_json({"type": "subscribe", "id": 10, "feed": 12345})
        assert until(ws, "error")["code"] == "unknown_feed"
        ws.send_json({"type": "ping", "id": 11})
        assert until(ws, "pong")["id"] == 11


def test_invalid_ticket_and_version(api: Api) -> None:
    with api.client.websocket_connect("/ws/v1") as ws:
        ws.send_json({"type": "join", "v": 1, "ticket": "forged.ticket", "id": 1})
        error = ws.receive_json()
        assert error["code"] == "invalid_ticket" and error["id"] == 1
    conf = api.conference(api.admin_token)
    with api.client.websocket_connect("/ws/v1") as ws:
        ws.send_json({"type": "join", "v": 99, "ticket": ticket(api, conf["id"], api.admin_token)})
        assert ws.receive_json()["code"] == "unsupported_version"


def test_conference_full(api: Api) -> None:
    _, anna = api.user("anna")
    conf = api.conference(api.admin_token, max_participants=2)
    with joined(api, ticket(api, conf["id"], api.admin_token)), joined(api, ticket(api, conf["id"], anna)):
        with joined(api, ticket(api, conf["id"], anna)) as (_, third):
            assert third["type"] == "error" and third["code"] == "conference_full"
            assert "full (2 participants)" in third["message"]


def test_moderator_mutes_and_removes(api: Api) -> None:
    _, anna = api.user("anna")
    conf = api.conference(api.admin_token)
    with (
        joined(api, ticket(api, conf["id"], api.admin_token)) as (mod, _),
        joined(api, ticket(api, conf["id"], anna)) as (ws, hello),
    ):
        ws.send_json({"type": "publish", "id": 2, "source": "camera", "sdp": "v=0"})
        feed = until(ws, "published")["feed"]
        # Anna may not moderate.
        ws.send_json({"type": "moderate", "id": 3, "participant": hello["participant"], "action": "mute"})
        assert until(ws, "error")["code"] == "not_allowed"
        # Through the REST API, as the admin: the engine stops forwarding her audio and she is told.
        r = api.call("POST", f"/conferences/{conf['id']}/participants/{hello['participant']}/mute", api.admin_token)
        assert r.status_code == 204
        assert until(ws, "force_muted")["by"] == "Administrator"
        assert api.engine.feed_muted(conf["id"], feed) == (True, False)
        live = api.call("GET", f"/conferences/{conf['id']}/participants", api.admin_token).json()
        assert {p["display_name"]: p["force_muted"] for p in live} == {"Administrator": False, "Anna": True}
        # She unmutes herself: forwarding resumes.
        ws.send_json({"type": "state", "id": 4, "audio": True, "video": True})
        until(ws, "ok")
        assert api.engine.feed_muted(conf["id"], feed) == (False, False)
        mod.send_json({"type": "moderate", "id": 5, "participant": hello["participant"], "action": "remove"})
        assert until(ws, "removed")["by"] == "Administrator"
        assert until(mod, "participant_left")["participant"] == hello["participant"]


def test_engine_restart_asks_everyone_to_republish(api: Api) -> None:
    conf = api.conference(api.admin_token)
    with joined(api, ticket(api, conf["id"], api.admin_token)) as (ws, _):
        ws.send_json({"type": "publish", "id": 2, "source": "camera", "sdp": "v=0"})
        until(ws, "published")
        api.client.portal.call(api.engine.crash_and_restart)  # type: ignore[union-attr]
        assert until(ws, "media_reset") == {"type": "media_reset"}
        ws.send_json({"type": "publish", "id": 3, "source": "camera", "sdp": "v=0"})
        assert until(ws, "published")["id"] == 3


VP9_OFFER = "\r\n".join(
    ["v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=mid:0"]
    + ["m=video 9 UDP/TLS/RTP/SAVPF 98", "a=mid:1", "a=rtpmap:98 VP9/90000"]
)
VP8_OFFER = VP9_OFFER.replace("98 VP9", "96 VP8").replace("SAVPF 98", "SAVPF 96")


def test_vp9_conference_plans_svc_and_gives_a_vp8_only_client_audio_of_vp9_feeds(api: Api) -> None:
    _, anna = api.user("anna")
    _, olga = api.user("olga")
    conf = api.conference(api.admin_token, video_codec="vp9")
    assert conf["video_codec"] == "vp9"
    with api.client.websocket_connect("/ws/v1") as a:
        a.send_json({"type": "join", "v": 1, "id": 1, "ticket": ticket(api, conf["id"], anna)})
        hello_a = until(a, "joined")
        assert hello_a["media"] == {"video_codec": "vp9", "scalability_mode": "L3T3_KEY", "fallback": None}
        a.send_json({"type": "publish", "id": 2, "source": "camera", "sdp": VP9_OFFER, "scalability_mode": "L3T3_KEY"})
        vp9_feed = until(a, "published")["feed"]
        assert api.engine.publishers[(conf["id"], vp9_feed)].scalability_mode == "L3T3_KEY"

        with api.client.websocket_connect("/ws/v1") as o:
            olga_ticket = ticket(api, conf["id"], olga)
            o.send_json({"type": "join", "v": 1, "id": 1, "ticket": olga_ticket, "video_codecs": ["vp8"]})
            hello_o = until(o, "joined")
            # She is told she will miss VP9 video, and sends VP8 simulcast, which the room takes.
            assert hello_o["media"] == {"video_codec": "vp8", "scalability_mode": None, "fallback": "vp9_unsupported"}
            assert [(f["feed"], f["video_codec"]) for f in hello_o["feeds"]] == [(vp9_feed, "vp9")]
            o.send_json({"type": "subscribe", "id": 2, "feed": vp9_feed})
            offer = until(o, "subscription_offer")
            assert offer["video_withheld"] == "vp9_unsupported"
            withheld = [s for s in api.engine.subscriptions.values() if s.feed == vp9_feed]
            assert [s.video for s in withheld] == [False]  # audio only, asked of the engine
            o.send_json({"type": "publish", "id": 3, "source": "camera", "sdp": VP8_OFFER})
            vp8_feed = until(o, "published")["feed"]

            # Anna (VP9 and VP8) receives Olga's VP8 with video.
            assert until(a, "feed_added")["feed"] == {
                "feed": vp8_feed,
                "participant": hello_o["participant"],
                "source": "camera",
                "video_codec": "vp8",
            }
            a.send_json({"type": "subscribe", "id": 4, "feed": vp8_feed})
            assert "video_withheld" not in until(a, "subscription_offer")


def test_a_vp8_conference_refuses_vp9_video_and_the_default_follows_the_shared_settings(api: Api) -> None:
    plain = api.conference(api.admin_token)
    assert plain["video_codec"] is None  # the cluster's default
    with joined(api, ticket(api, plain["id"], api.admin_token)) as (ws, hello):
        assert hello["media"]["video_codec"] == "vp8" and hello["media"]["fallback"] is None
        ws.send_json({"type": "publish", "id": 2, "source": "camera", "sdp": VP9_OFFER})
        error = until(ws, "error")
        assert error["code"] == "media_error" and "vp9" in error["message"]

    assert api.call("PATCH", "/settings", api.admin_token, json={"video_codec": "vp9"}).status_code == 200
    later = api.conference(api.admin_token)
    with joined(api, ticket(api, later["id"], api.admin_token)) as (_, hello):
        assert hello["media"]["video_codec"] == "vp9"
    bad = api.call("POST", "/conferences", api.admin_token, json={"name": "x", "video_codec": "h265"})
    assert bad.status_code in (400, 422) and "video_codec" in bad.text
