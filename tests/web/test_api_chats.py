"""The chats API over the whole app: direct and group chats, history by pages, unread counts, search, the stream of
new messages, calls from a chat; and the access rules: a non-member gets 404 as for a chat that does not exist,
search never shows another chat's messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.web.conftest import Api
from veche.domain.chat_access import Attachment, ChatRef, Reader
from veche.domain.errors import NotFound


def _direct(api: Api, token: str, other_id: int) -> dict[str, Any]:
    answer = api.call("POST", "/chats/direct", token, json={"user_id": other_id})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _say(api: Api, token: str, chat_id: int, text: str) -> dict[str, Any]:
    answer = api.call("POST", f"/chats/{chat_id}/messages", token, json={"text": text})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _mine(api: Api, token: str) -> list[dict[str, Any]]:
    answer = api.call("GET", "/chats", token)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["chats"])


def test_a_direct_chat_is_one_per_pair_with_unread_counts(api: Api) -> None:
    anna_id, anna = api.user("anna")
    bob_id, bob = api.user("bob")
    chat = _direct(api, anna, bob_id)
    assert _direct(api, bob, anna_id)["id"] == chat["id"]  # the same chat, whoever starts it
    assert chat["title"] == "Bob" and chat["kind"] == "direct"
    assert {m["id"] for m in chat["members"]} == {anna_id, bob_id}

    first = _say(api, anna, chat["id"], "Hello Bob")
    _say(api, anna, chat["id"], "Are you there?")
    listed = _mine(api, bob)
    assert [(c["id"], c["title"], c["unread"]) for c in listed] == [(chat["id"], "Anna", 2)]
    assert listed[0]["last_message"]["text"] == "Are you there?"
    assert _mine(api, anna)[0]["unread"] == 0  # one's own messages are read

    assert api.call("POST", f"/chats/{chat['id']}/read", bob, json={"message_id": first["id"]}).status_code == 204
    assert _mine(api, bob)[0]["unread"] == 1
    _say(api, bob, chat["id"], "Yes")  # answering reads the chat
    assert _mine(api, bob)[0]["unread"] == 0 and _mine(api, anna)[0]["unread"] == 1


def test_my_chats_are_ordered_by_their_newest_message(api: Api) -> None:
    _, anna = api.user("anna")
    bob_id, _ = api.user("bob")
    carl_id, _ = api.user("carl")
    with_bob = _direct(api, anna, bob_id)["id"]
    group = api.call("POST", "/chats/groups", anna, json={"title": "Team", "member_ids": [bob_id, carl_id]})
    assert group.status_code == 201, group.text
    team = group.json()["id"]
    _say(api, anna, team, "first")
    _say(api, anna, with_bob, "second")
    assert [c["id"] for c in _mine(api, anna)] == [with_bob, team]
    _say(api, anna, team, "third")
    assert [c["title"] for c in _mine(api, anna)] == ["Team", "Bob"]
    page = api.call("GET", "/chats", anna, params={"limit": 1, "offset": 1}).json()
    assert page["total"] == 2 and [c["id"] for c in page["chats"]] == [with_bob]


def test_history_scrolls_back_by_pages(api: Api) -> None:
    _, anna = api.user("anna")
    bob_id, bob = api.user("bob")
    chat_id = _direct(api, anna, bob_id)["id"]
    for n in range(7):
        _say(api, anna, chat_id, f"message {n}")
    newest = api.call("GET", f"/chats/{chat_id}/messages", bob, params={"limit": 3}).json()
    assert [m["text"] for m in newest["messages"]] == ["message 4", "message 5", "message 6"] and newest["more"]
    older = api.call(
        "GET", f"/chats/{chat_id}/messages", bob, params={"limit": 3, "before": newest["messages"][0]["id"]}
    ).json()
    assert [m["text"] for m in older["messages"]] == ["message 1", "message 2", "message 3"] and older["more"]
    oldest = api.call(
        "GET", f"/chats/{chat_id}/messages", bob, params={"limit": 3, "before": older["messages"][0]["id"]}
    ).json()
    assert [m["text"] for m in oldest["messages"]] == ["message 0"] and not oldest["more"]


def test_a_non_member_is_told_the_chat_does_not_exist(api: Api) -> None:
    _, anna = api.user("anna")
    bob_id, _ = api.user("bob")
    _, eve = api.user("eve")
    chat_id = _direct(api, anna, bob_id)["id"]
    _say(api, anna, chat_id, "secret plans")
    missing = api.call("GET", "/chats/999999/messages", eve)
    for method, path, body in [
        ("GET", f"/chats/{chat_id}", None),
        ("GET", f"/chats/{chat_id}/messages", None),
        ("POST", f"/chats/{chat_id}/messages", {"text": "let me in"}),
        ("POST", f"/chats/{chat_id}/read", {"message_id": 1}),
        ("POST", f"/chats/{chat_id}/call", None),
    ]:
        answer = api.call(method, path, eve, json=body)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["error"]["code"] == "not_found"
        assert "secret" not in answer.text and "Anna" not in answer.text
    assert missing.status_code == 404
    assert api.call("GET", f"/chats/{chat_id}/messages").status_code == 401
    assert api.call("GET", "/chats/search", eve, params={"q": "secret"}).json()["messages"] == []
    assert _mine(api, eve) == []


def test_search_finds_only_my_chats_messages(api: Api) -> None:
    _, anna = api.user("anna")
    bob_id, bob = api.user("bob")
    carl_id, carl = api.user("carl")
    with_bob = _direct(api, anna, bob_id)["id"]
    with_carl = _direct(api, anna, carl_id)["id"]
    _say(api, anna, with_bob, "The Budget for 2027 is ready")
    _say(api, anna, with_carl, "carl: the budget is secret")
    _say(api, bob, with_bob, "nothing to see")
    _say(api, anna, with_bob, "100% sure")

    found = api.call("GET", "/chats/search", bob, params={"q": "BUDGET"}).json()["messages"]
    assert [(m["chat"], m["text"]) for m in found] == [(f"chat:{with_bob}", "The Budget for 2027 is ready")]
    assert len(api.call("GET", "/chats/search", anna, params={"q": "budget"}).json()["messages"]) == 2
    assert [m["text"] for m in api.call("GET", "/chats/search", carl, params={"q": "budget"}).json()["messages"]] == [
        "carl: the budget is secret"
    ]
    # % and _ are text, not wildcards.
    assert [m["text"] for m in api.call("GET", "/chats/search", anna, params={"q": "0%"}).json()["messages"]] == [
        "100% sure"
    ]
    inside = api.call("GET", f"/chats/{with_bob}/messages", bob, params={"q": "see"}).json()["messages"]
    assert [m["text"] for m in inside] == ["nothing to see"]
    assert api.call("GET", "/chats/search", anna, params={"q": ""}).status_code == 422


def test_the_stream_delivers_new_messages_and_resumes_after_the_last_one(api: Api) -> None:
    anna_id, anna = api.user("anna")
    bob_id, bob = api.user("bob")
    chat_id = _direct(api, anna, bob_id)["id"]
    before = _say(api, anna, chat_id, "before the stream")
    _say(api, bob, chat_id, "also before")
    # Resuming after `before`: what came since, then the stream ends after wait_s.
    with api.client.stream(
        "GET",
        "/api/v1/chats/events",
        params={"wait_s": 0.5},
        headers={"Authorization": f"Bearer {bob}", "Last-Event-ID": str(before["id"])},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    events = [json.loads(line[len("data: ") :]) for line in body.splitlines() if line.startswith("data: ")]
    assert [(e["text"], e["sender_user_id"]) for e in events] == [("also before", bob_id)]
    assert f"id: {events[0]['id']}" in body
    assert anna_id != bob_id


def test_a_group_call_invites_the_members_and_posts_its_link(api: Api) -> None:
    _, anna = api.user("anna")
    bob_id, bob = api.user("bob")
    _, eve = api.user("eve")
    team = api.call("POST", "/chats/groups", anna, json={"title": "Team", "member_ids": [bob_id]}).json()["id"]
    answer = api.call("POST", f"/chats/{team}/call", anna)
    assert answer.status_code == 201, answer.text
    url = answer.json()["url"]
    conference_id = answer.json()["conference_id"]
    assert [m["text"] for m in api.call("GET", f"/chats/{team}/messages", bob).json()["messages"]] == [
        f"Started a call: {url}"
    ]
    assert api.call("POST", f"/conferences/{conference_id}/join", bob, json={}).status_code == 200
    assert api.call("POST", f"/conferences/{conference_id}/join", eve, json={}).status_code == 404


def test_a_direct_call_rings_the_other_one(api: Api) -> None:
    _, anna = api.user("anna")
    bob_id, bob = api.user("bob")
    chat_id = _direct(api, anna, bob_id)["id"]
    answer = api.call("POST", f"/chats/{chat_id}/call", anna)
    assert answer.status_code == 201, answer.text
    ringing = api.call("GET", "/directory/calls", bob).json()["calls"]
    assert [c["conference_id"] for c in ringing] == [answer.json()["conference_id"]]


def test_bad_input_gets_a_clear_error(api: Api) -> None:
    anna_id, anna = api.user("anna")
    bob_id, _ = api.user("bob")
    assert api.call("POST", "/chats/direct", anna, json={"user_id": anna_id}).status_code == 400
    assert api.call("POST", "/chats/direct", anna, json={"user_id": 987654}).status_code == 404
    chat_id = _direct(api, anna, bob_id)["id"]
    blank = api.call("POST", f"/chats/{chat_id}/messages", anna, json={"text": "   "})
    assert blank.status_code == 400 and "empty" in blank.json()["error"]["message"]
    assert api.call("POST", f"/chats/{chat_id}/messages", anna, json={"text": "x" * 4001}).status_code == 422
    assert api.call("POST", "/chats/groups", anna, json={"title": "", "member_ids": [bob_id]}).status_code == 422
    assert api.call("GET", f"/chats/{chat_id}/messages", anna, params={"before": 0}).status_code == 422


def test_a_file_posted_to_a_chat_is_a_message_with_its_download_link(api: Api) -> None:
    anna_id, anna = api.user("anna")
    bob_id, bob = api.user("bob")
    eve_id, _ = api.user("eve")
    chat_id = _direct(api, anna, bob_id)["id"]
    poster = api.container.get_chat_poster()
    file = Attachment(file_id="f0123456789abcdef", name="plan.pdf", size=2048, content_type="application/pdf")
    api.client.portal.call(poster.post_attachment, Reader(user_id=anna_id), ChatRef("chat", chat_id), file, "the plan")  # type: ignore[union-attr]
    (message,) = api.call("GET", f"/chats/{chat_id}/messages", bob).json()["messages"]
    assert message["text"] == "the plan" and message["display_name"] == "Anna"
    assert message["attachment"] == {
        "file_id": "f0123456789abcdef",
        "name": "plan.pdf",
        "size": 2048,
        "content_type": "application/pdf",
        "url": "/api/v1/files/f0123456789abcdef",
    }
    assert _mine(api, bob)[0]["unread"] == 1
    with pytest.raises(NotFound):
        api.client.portal.call(poster.post_attachment, Reader(user_id=eve_id), ChatRef("chat", chat_id), file)  # type: ignore[union-attr]
    access = api.container.get_chat_access()
    assert api.client.portal.call(access.may_read, Reader(user_id=bob_id), ChatRef("chat", chat_id))  # type: ignore[union-attr]
    assert not api.client.portal.call(access.may_read, Reader(user_id=eve_id), ChatRef("chat", chat_id))  # type: ignore[union-attr]


def test_a_conference_page_follows_files_posted_to_its_chat(api: Api) -> None:
    anna_id, anna = api.user("anna")
    _, eve = api.user("eve")
    conf = api.conference(anna, access="invited", guests_allowed=True)
    ref = ChatRef("conference", conf["id"])
    file = Attachment(file_id="f-conf", name="slides.pdf", size=10, content_type="application/pdf")
    poster = api.container.get_chat_poster()
    api.client.portal.call(poster.post_attachment, Reader(user_id=anna_id), ref, file)  # type: ignore[union-attr]
    api.client.portal.call(
        poster.post_attachment, Reader(guest_conference_id=conf["id"], display_name="Gus"), ref, file
    )  # type: ignore[union-attr]
    for path, token in [
        (f"/chats/conferences/{conf['id']}/events", anna),
        (f"/chats/invites/{conf['invite_code']}/events", None),
    ]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with api.client.stream(
            "GET", f"/api/v1{path}", params={"after": 0, "wait_s": 0.3}, headers=headers
        ) as response:
            assert response.status_code == 200
            body = "".join(response.iter_text())
        events = [json.loads(line[len("data: ") :]) for line in body.splitlines() if line.startswith("data: ")]
        assert [(e["display_name"], e["attachment"]["name"]) for e in events] == [
            ("Anna", "slides.pdf"),
            ("Gus", "slides.pdf"),
        ]
    refused = api.call("GET", f"/chats/conferences/{conf['id']}/events", eve, params={"wait_s": 0})
    assert refused.status_code == 404
