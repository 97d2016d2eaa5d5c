"""GET /api/v1/history after real joins and leaves over the signaling socket (in-memory media engine): who sees
which calls, the filters, one call, and the CSV export."""

from __future__ import annotations

import csv
import io
from functools import partial
from typing import Any

from tests.support.eventually import eventually
from tests.web.conftest import Api
from tests.web.test_signaling_ws import joined, ticket, until
from veche.domain.call_history import CallPage, HistoryFilter


def history(api: Api, token: str, **params: Any) -> Any:
    answer = api.call("GET", "/history", token, params=params)
    assert answer.status_code == 200, answer.text
    return answer


def settled_history(api: Api, token: str, participants: int) -> list[dict[str, Any]]:
    """The history once its newest call has ended with ``participants`` in it (base stores what app servers send)."""
    store = api.container.get_call_history()

    async def probe() -> CallPage:
        return await store.list_calls(HistoryFilter(), limit=1, offset=0)

    def done(page: CallPage) -> bool:
        return (
            bool(page.calls)
            and page.calls[0].ended_at_ms is not None
            and len(page.calls[0].participants) == participants
        )

    wait = partial(eventually, probe, done, timeout=10, interval=0.05, what="the call in the history")
    api.client.portal.call(wait)  # type: ignore[union-attr]
    return list(history(api, token).json())


def a_call(api: Api) -> tuple[dict[str, Any], dict[str, str], dict[str, int]]:
    """Anna publishes for 10 s (engine time), Boris watches; both leave. Returns the conference, tokens, ids."""
    anna_id, anna = api.user("anna")
    boris_id, boris = api.user("boris")
    carol_id, carol = api.user("carol")
    conference = api.conference(anna)
    now = [1000.0]
    api.engine.clock_s = lambda: now[0]
    with joined(api, ticket(api, conference["id"], anna)) as (a, _):
        a.send_json({"type": "publish", "id": 2, "source": "camera", "sdp": "v=0 offer"})
        feed = until(a, "published")["feed"]
        with joined(api, ticket(api, conference["id"], boris)) as (b, _):
            b.send_json({"type": "subscribe", "id": 3, "feed": feed})
            until(b, "subscription_offer")
            now[0] += 10.0
    return (
        conference,
        {"anna": anna, "boris": boris, "carol": carol},
        {"anna": anna_id, "boris": boris_id, "carol": carol_id},
    )


def test_participants_see_the_call_with_everybody_in_it_and_the_engines_figures(api: Api) -> None:
    conference, tokens, ids = a_call(api)
    (call,) = settled_history(api, tokens["boris"], participants=2)
    assert call["conference_id"] == conference["id"] and call["conference_name"] == conference["name"]
    people = {p["display_name"]: p for p in call["participants"]}
    assert set(people) == {"Anna", "Boris"}
    anna = people["Anna"]
    assert anna["user_id"] == ids["anna"] and not anna["guest"]
    assert anna["kind"] == "api"  # the test client is no browser
    assert anna["server_id"] == api.container.server_id
    assert anna["closed_by"] == "app"
    assert anna["user_agent"] is None  # shown to administrators only
    # 10 s at the in-memory engine's 800 kbit/s, 1 % lost: what Anna sent; Boris received as much.
    assert anna["quality"]["bytes_in"] == 1_000_000 and anna["quality"]["loss_in"] == 0.01
    assert people["Boris"]["quality"]["bytes_out"] == 1_000_000
    assert anna["joined_at"] <= people["Boris"]["joined_at"] <= people["Boris"]["left_at"] <= anna["left_at"]
    assert call["started_at"] == anna["joined_at"] and call["ended_at"] == anna["left_at"]
    assert history(api, tokens["anna"]).headers["X-Total-Count"] == "1"
    one = api.call("GET", f"/history/{call['id']}", tokens["anna"])
    assert one.status_code == 200 and one.json()["participants"] == call["participants"]


def test_someone_who_was_not_in_a_call_is_told_it_does_not_exist(api: Api) -> None:
    _, tokens, _ = a_call(api)
    (call,) = settled_history(api, tokens["anna"], participants=2)
    listed = history(api, tokens["carol"])
    assert listed.json() == [] and listed.headers["X-Total-Count"] == "0"
    theirs = api.call("GET", f"/history/{call['id']}", tokens["carol"])
    none = api.call("GET", f"/history/{call['id'] + 1000}", tokens["carol"])
    assert theirs.status_code == none.status_code == 404
    assert theirs.json() == none.json() == {"error": {"code": "not_found", "message": "No such call in your history."}}
    assert history(api, tokens["carol"], conference_id=call["conference_id"]).json() == []
    exported = api.call("GET", "/history.csv", tokens["carol"])
    assert exported.status_code == 200 and len(list(csv.reader(io.StringIO(exported.text)))) == 1  # the header
    assert api.call("GET", "/history").status_code == 401


def test_administrators_see_every_call_and_filter_them(api: Api) -> None:
    conference, tokens, ids = a_call(api)
    admin = api.admin_token
    (call,) = settled_history(api, admin, participants=2)
    assert {p["user_agent"] for p in call["participants"]} == {"testclient"}
    assert history(api, admin, mine=True).json() == []  # he was not in it

    def count(**params: Any) -> int:
        return len(history(api, admin, **params).json())

    assert count(user_id=ids["anna"]) == 1 and count(user_id=ids["carol"]) == 0
    assert count(conference_id=conference["id"]) == 1 and count(conference_id=conference["id"] + 1) == 0
    assert count(server_id=api.container.server_id) == 1 and count(server_id="elsewhere") == 0
    assert count(kind="api") == 1 and count(kind="browser") == 0
    assert count(since=call["ended_at"]) == 1 and count(until=call["started_at"]) == 0
    assert count(since="2000-01-01T00:00:00Z", until="2000-01-02T00:00:00+03:00") == 0
    assert count(limit=1, offset=1) == 0
    wrong = api.call(
        "GET", "/history", admin, params={"since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"}
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_input"
    assert api.call("GET", "/history", admin, params={"kind": "fax"}).status_code == 422


def test_the_csv_export_has_one_row_per_participant(api: Api) -> None:
    conference, tokens, _ = a_call(api)
    settled_history(api, api.admin_token, participants=2)
    exported = api.call("GET", "/history.csv", api.admin_token, params={"conference_id": conference["id"]})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["display_name"] for r in rows) == ["Anna", "Boris"]
    assert {r["conference_name"] for r in rows} == {conference["name"]}
    assert all(r["left_at"].endswith("Z") and float(r["duration_s"]) >= 0 for r in rows)
    assert {r["bytes_in"] for r in rows if r["display_name"] == "Anna"} == {"1000000"}
    mine = api.call("GET", "/history.csv", tokens["boris"])
    assert len(list(csv.DictReader(io.StringIO(mine.text)))) == 2
