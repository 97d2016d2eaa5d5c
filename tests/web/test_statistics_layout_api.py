"""GET/PUT /api/v1/statistics/layout: each administrator's own arrangement of the Statistics page, strictly checked."""

from __future__ import annotations

from typing import Any

from .conftest import Api

DEFAULT_FIRST = {"figure": "conference_hours", "kind": "bar"}


def layout(api: Api, token: str | None) -> Any:
    return api.call("GET", "/statistics/layout", token)


def put(api: Api, token: str | None, body: Any) -> Any:
    return api.call("PUT", "/statistics/layout", token, json=body)


def test_an_admin_gets_the_default_then_his_own_and_another_admin_keeps_his(api: Api) -> None:
    first = layout(api, api.admin_token)
    assert first.status_code == 200 and first.json()["charts"][0] == DEFAULT_FIRST
    mine = {"charts": [{"figure": "cpu_percent", "kind": "bar"}, {"figure": "refusals", "kind": "line"}]}
    saved = put(api, api.admin_token, mine)
    assert saved.status_code == 200 and saved.json() == mine
    assert layout(api, api.admin_token).json() == mine
    _, other = api.user("olga", admin=True)
    assert layout(api, other).json()["charts"][0] == DEFAULT_FIRST, "one admin's arrangement is not another's"
    assert put(api, api.admin_token, {"charts": []}).status_code == 200
    assert layout(api, api.admin_token).json() == {"charts": []}, "no chart at all is an arrangement too"


def test_a_wrong_arrangement_is_refused_with_the_reason_and_changes_nothing(api: Api) -> None:
    kept = {"charts": [{"figure": "participants_avg", "kind": "line"}]}
    assert put(api, api.admin_token, kept).status_code == 200
    unknown = put(api, api.admin_token, {"charts": [{"figure": "salaries", "kind": "line"}]})
    assert unknown.status_code == 422 and "charts.0.figure" in unknown.json()["error"]["message"]
    twice = put(api, api.admin_token, {"charts": [{"figure": "refusals"}, {"figure": "refusals", "kind": "bar"}]})
    assert twice.status_code == 422 and "one chart only" in twice.json()["error"]["message"]
    extra = put(api, api.admin_token, {"charts": [], "script": "alert(1)"})
    assert extra.status_code == 422
    many = [{"figure": "refusals", "kind": "line"}] * 11
    assert put(api, api.admin_token, {"charts": many}).status_code == 422
    assert layout(api, api.admin_token).json() == kept


def test_only_admins_may_read_or_keep_an_arrangement(api: Api) -> None:
    _, user = api.user("carol")
    assert layout(api, user).status_code == 403
    assert put(api, user, {"charts": []}).status_code == 403
    assert layout(api, None).status_code == 401
