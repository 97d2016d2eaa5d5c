"""The license pool at the edges: admission refused in plain words, seats given back, the License API."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.support.eventually import eventually
from tests.web.conftest import Api
from tests.web.test_signaling_ws import joined as socket
from veche.bus.lease_messages import LicenseReport
from veche.domain.license import License, generate_key, sign_license
from veche.domain.license_pools import Pool


def user_ticket(api: Api, conf_id: int, token: str) -> str:
    return str(api.call("POST", f"/conferences/{conf_id}/join", token).json()["ticket"])


def license_text(private_pem: bytes, *, expires: date | None = None, **pools: int | None) -> str:
    lic = License(
        license_id="test-1",
        organisation="Acme",
        expires=expires or date.today() + timedelta(days=365),
        issued_at=datetime.now(UTC),
        pools={pool: pools.get(pool.value) for pool in Pool},
    )
    return sign_license(lic, private_pem)


def install(api: Api, text: str, trust: str) -> None:
    """As `veche license install --trust` would, then wait until this server's leases fit the new totals."""
    api.container.get_installed_license().install(text, [trust])
    api.container.get_license_pool().reload()
    seats = api.container.get_license_seats()

    async def fits() -> bool:
        await seats.renew()
        totals = {pool: seats.leases[pool].total for pool in Pool}
        return all(total is None or seats.leases[pool].slots <= total for pool, total in totals.items())

    wait = eventually(fits, bool, timeout=10, interval=0.05, what="leases within the license")
    api.client.portal.call(lambda: wait)  # type: ignore[union-attr]


def report(api: Api, accept: Any = bool) -> dict[str, Any]:
    async def probe() -> LicenseReport:
        await api.container.get_license_seats().renew()  # the manager's figures follow each renewal
        return await api.container.get_license_pool().full_report(hours=24)

    wait = eventually(probe, accept, timeout=10, interval=0.05, what="the license figures")
    api.client.portal.call(lambda: wait)  # type: ignore[union-attr]
    answer = api.call("GET", "/license", api.admin_token)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.fixture
def key() -> tuple[bytes, str]:
    return generate_key()


def test_without_a_license_every_pool_is_unlimited_but_counted(api: Api) -> None:
    _, anna = api.user("anna")
    conf = api.conference(api.admin_token)
    with socket(api, user_ticket(api, conf["id"], anna)) as (_, hello):
        assert hello["type"] == "joined"
        body = report(api, lambda r: r.pools["video"].in_use == 1)
        assert body["organisation"] is None
        assert body["pools"]["video"]["total"] is None and body["pools"]["video"]["in_use"] == 1
        assert body["pools"]["online_users"]["in_use"] == 1
        assert set(body["pools"]) == {"online_users", "video", "gateway", "guests"}
        assert body["pools"]["video"]["leased"][api.container.server_id] >= 1


def test_the_connection_beyond_the_license_is_refused_naming_the_pool(api: Api, key: tuple[bytes, str]) -> None:
    install(api, license_text(key[0], video=3), key[1])
    conf = api.conference(api.admin_token, max_participants=10)
    tokens = [api.user(name)[1] for name in ("anna", "boris", "clara", "dmitri")]
    with ExitStack() as stack:
        for token in tokens[:3]:
            assert stack.enter_context(socket(api, user_ticket(api, conf["id"], token)))[1]["type"] == "joined"
        with socket(api, user_ticket(api, conf["id"], tokens[3])) as (ws, refused):
            assert refused["type"] == "error" and refused["code"] == "license_exhausted"
            assert refused["message"] == (
                "All 3 video connections of your license are in use. Try again later or ask your administrator."
            )
            assert ws.receive()["code"] == 4000
        body = report(api, lambda r: r.pools["video"].in_use == 3 and r.pools["video"].refusals >= 1)
        assert body["organisation"] == "Acme"
        assert body["pools"]["video"]["total"] == 3 and body["pools"]["video"]["free"] == 0
    # Everyone left: the seats are back, and the fourth gets in.
    with socket(api, user_ticket(api, conf["id"], tokens[3])) as (_, hello):
        assert hello["type"] == "joined"


def test_a_user_in_two_tabs_is_one_online_user_and_guests_count_in_their_own_pool(
    api: Api, key: tuple[bytes, str]
) -> None:
    install(api, license_text(key[0], online_users=1, guests=1), key[1])
    conf = api.conference(api.admin_token, guests_allowed=True)
    _, anna = api.user("anna")
    _, boris = api.user("boris")
    guest_join = f"/invites/{conf['invite_code']}/join"
    with ExitStack() as stack:
        for _ in range(2):
            assert stack.enter_context(socket(api, user_ticket(api, conf["id"], anna)))[1]["type"] == "joined"
        with socket(api, user_ticket(api, conf["id"], boris)) as (_, refused):
            assert refused["code"] == "license_exhausted" and "All 1 online users" in refused["message"]
        first = api.call("POST", guest_join, json={"display_name": "Guest one"}).json()
        assert stack.enter_context(socket(api, first["ticket"]))[1]["type"] == "joined"
        api.client.cookies.clear()  # another browser
        second = api.call("POST", guest_join, json={"display_name": "Guest two"}).json()
        with socket(api, second["ticket"]) as (_, refused):
            assert refused["code"] == "license_exhausted" and "guest connections" in refused["message"]
        body = report(api, lambda r: r.pools["online_users"].in_use == 1 and r.pools["guests"].in_use == 1)
        assert body["pools"]["video"]["in_use"] == 3


def test_an_expired_license_admits_nobody_and_says_so(api: Api, key: tuple[bytes, str]) -> None:
    text = license_text(key[0], expires=date.today() + timedelta(days=1), video=5)
    install(api, text, key[1])
    pool = api.container.get_license_pool()
    pool._today = lambda: date.today() + timedelta(days=2)  # noqa: SLF001 - two days later
    for ledger_pool in Pool:
        pool._ledgers[ledger_pool].total = pool._total(ledger_pool)  # noqa: SLF001 - as the reload loop does
    api.client.portal.call(api.container.get_license_seats().renew)  # type: ignore[union-attr] # the next heartbeat
    _, anna = api.user("anna")
    conf = api.conference(api.admin_token)
    with socket(api, user_ticket(api, conf["id"], anna)) as (_, refused):
        assert refused.get("code") == "license_exhausted", refused
        assert "expired on" in refused["message"] and "Acme" in refused["message"]


def test_the_license_api_is_for_admins_and_a_bad_upload_keeps_the_previous_license(
    api: Api, key: tuple[bytes, str]
) -> None:
    _, anna = api.user("anna")
    assert api.call("GET", "/license", anna).status_code == 403
    install(api, license_text(key[0], video=7), key[1])
    good = api.call("GET", "/license", api.admin_token).json()
    assert good["pools"]["video"]["total"] == 7
    tampered = license_text(key[0], video=7).replace('"video": 7', '"video": 700')
    refused = api.call("PUT", "/license", api.admin_token, content=tampered, headers={"Content-Type": "text/plain"})
    assert refused.status_code == 400 and "signature does not match" in refused.json()["error"]["message"]
    unknown = license_text(generate_key()[0], video=9)
    refused = api.call("PUT", "/license", api.admin_token, content=unknown, headers={"Content-Type": "text/plain"})
    assert refused.status_code == 400 and "does not trust" in refused.json()["error"]["message"]
    assert api.call("GET", "/license", api.admin_token).json()["pools"]["video"]["total"] == 7
    better = license_text(key[0], video=12)
    installed = api.call("PUT", "/license", api.admin_token, content=better, headers={"Content-Type": "text/plain"})
    assert installed.status_code == 200, installed.text
    assert installed.json()["pools"]["video"]["total"] == 12
