"""GET /api/v1/components on `veche up`'s single server (every role in one process, SQLite, in-process bus):
the admin sees each role of the one server up and active and the database as the primary; nobody else sees it."""

from __future__ import annotations

from typing import Any

from tests.support.eventually import eventually
from tests.web.conftest import Api, api  # noqa: F401 - the fixture

__all__ = ["api"]


async def test_the_admin_sees_every_role_and_the_database(api: Api) -> None:  # noqa: F811
    async def components() -> list[dict[str, Any]]:
        answer = api.call("GET", "/components", api.admin_token)
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    rows = await eventually(
        components,
        lambda rows: sum(r["kind"] != "database" and r["state"] == "up" for r in rows) == 4,
        what="the one server's four roles up",
    )
    by_kind = {r["kind"]: r for r in rows}
    assert sorted(by_kind) == ["app", "base", "database", "manager", "web"]
    assert all(by_kind[k]["active"] for k in ("manager", "base", "web", "app"))
    assert {by_kind[k]["server_id"] for k in ("manager", "base", "web", "app")} == {by_kind["web"]["server_id"]}
    assert by_kind["database"] | {"detail": ""} == {
        "kind": "database",
        "name": "sqlite",
        "segment": "default",
        "address": "sqlite",
        "state": "up",
        "active": True,
        "role": "primary",
        "detail": "",
        "server_id": "",
        "replication_lag_s": None,
    }


def test_only_admins_see_the_components(api: Api) -> None:  # noqa: F811
    _, anna = api.user("anna")
    refused = api.call("GET", "/components", anna)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert api.call("GET", "/components").status_code == 401
    page = api.client.get("/admin/components", headers={"Authorization": f"Bearer {anna}"}, follow_redirects=False)
    assert page.status_code in (303, 403)
