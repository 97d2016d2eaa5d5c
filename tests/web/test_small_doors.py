"""Small doors (issue 15, item 9): forwarding headers only from trusted proxies, Secure cookies over HTTPS, the
Content-Security-Policy and companions on pages, no CDN-backed API docs pages.

The TestClient passes the caller's address and scheme in the ASGI scope (``client=``, ``base_url=``); forwarding
headers are handled inside the app (uvicorn's ``ProxyHeadersMiddleware`` with ``http.trusted_proxies``), so these
requests go through the same code as behind uvicorn. One test builds the server exactly as ``veche up`` does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from pydantic import ValidationError

import veche.cli
from tests.web.conftest import ADMIN_PASSWORD, FakeEngineContainer, _create_admin
from veche.config.settings import load_settings
from veche.container import ALL_ROLES
from veche.web.app import create_app

TOKEN = "/api/v1/auth/token"
WRONG = {"login": "admin", "password": "wrong-password"}
PROXY = "10.0.0.5"
STRANGER = "192.0.2.7"


@contextmanager
def _client(
    tmp_path: Path, *, client: tuple[str, int], base_url: str = "http://testserver", proxies: bool = False
) -> Iterator[TestClient]:
    http = {"trusted_proxies": ["10.0.0.0/8"]} if proxies else {}
    settings = load_settings(None, data_dir=tmp_path, http=http, security={"login_max_failures": 2})
    container = FakeEngineContainer(settings, ALL_ROLES)
    with TestClient(create_app(container), client=client, base_url=base_url) as tc:
        tc.portal.call(_create_admin, container)  # type: ignore[union-attr]
        yield tc


def _fail_twice_then_try(tc: TestClient, forwarded: list[str]) -> list[int]:
    """Wrong passwords, each claiming the next X-Forwarded-For; the statuses (the limit is 2 a pair)."""
    return [tc.post(TOKEN, json=WRONG, headers={"X-Forwarded-For": ip}).status_code for ip in forwarded]


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name}"
    return match.group(1)


def _page_login(tc: TestClient, headers: dict[str, str] | None = None) -> str:
    """Log in through the form; the session cookie's Set-Cookie header."""
    page = tc.get("/login", headers=headers)
    nonce = _hidden(page.text, "csrf_token")
    r = tc.post(
        "/login",
        data={"login": "admin", "password": ADMIN_PASSWORD, "csrf_token": nonce},
        # Given by hand: a Secure login cookie is not sent back over plain http by the client's cookie jar.
        headers={**(headers or {}), "Cookie": f"veche_login_csrf={nonce}"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    session = [c for c in r.headers.get_list("set-cookie") if c.startswith("veche_session=")]
    assert len(session) == 1
    return session[0]


# -- X-Forwarded-For --------------------------------------------------------------------------------------------


def test_served_like_veche_up_a_local_caller_cannot_dodge_the_throttle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The uvicorn server ``veche up`` builds, with no trusted proxies: a local caller's X-Forwarded-For is ignored."""
    configs: list[uvicorn.Config] = []

    class Recorded:
        def __init__(self, config: uvicorn.Config) -> None:
            configs.append(config)
            self.should_exit = False

        def run(self) -> None:
            pass

    monkeypatch.setattr(uvicorn, "Server", Recorded)
    settings = load_settings(None, data_dir=tmp_path, security={"login_max_failures": 2})
    assert veche.cli._serve(settings, ["manager", "base", "web"]) == 0
    (config,) = configs
    config.load()  # what uvicorn serves: the app wrapped as its options say
    app: Any = config.loaded_app
    with TestClient(app, client=("127.0.0.1", 40000)) as tc:
        tc.portal.call(_create_admin, app_container(app))  # type: ignore[union-attr]
        assert _fail_twice_then_try(tc, ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) == [401, 401, 429]


def app_container(app: Any) -> Any:
    """The container behind whatever uvicorn wrapped around the FastAPI app."""
    while not hasattr(app, "state"):
        app = app.app
    return app.state.container


def test_forwarded_for_from_an_untrusted_caller_is_ignored(tmp_path: Path) -> None:
    with _client(tmp_path, client=(STRANGER, 40000), proxies=True) as tc:
        assert _fail_twice_then_try(tc, ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) == [401, 401, 429]


def test_forwarded_for_from_a_trusted_proxy_is_the_client_address(tmp_path: Path) -> None:
    with _client(tmp_path, client=(PROXY, 40000), proxies=True) as tc:
        # The throttle holds back the proxy's client that failed, not the proxy's other clients.
        assert _fail_twice_then_try(tc, ["203.0.113.1", "203.0.113.1", "203.0.113.1", "203.0.113.2"]) == [
            401,
            401,
            429,
            401,
        ]


def test_trusted_proxies_must_be_addresses_or_networks(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="trusted_proxies"):
        load_settings(None, data_dir=tmp_path, http={"trusted_proxies": ["proxy.example.org"]})
    settings = load_settings(None, data_dir=tmp_path, http={"trusted_proxies": ["127.0.0.1", "10.0.0.0/8", "::1"]})
    assert settings.http.trusted_proxies == ["127.0.0.1", "10.0.0.0/8", "::1"]


# -- Secure cookies ---------------------------------------------------------------------------------------------


def test_session_cookie_is_secure_over_https(tmp_path: Path) -> None:
    with _client(tmp_path, client=(STRANGER, 40000), base_url="https://testserver") as tc:
        assert "; secure" in _page_login(tc).lower()


def test_session_cookie_is_secure_when_a_trusted_proxy_says_https(tmp_path: Path) -> None:
    with _client(tmp_path, client=(PROXY, 40000), proxies=True) as tc:
        assert "; secure" in _page_login(tc, {"X-Forwarded-Proto": "https"}).lower()


def test_an_untrusted_caller_saying_https_gets_no_secure_cookie(tmp_path: Path) -> None:
    with _client(tmp_path, client=(STRANGER, 40000), proxies=True) as tc:
        assert "; secure" not in _page_login(tc, {"X-Forwarded-Proto": "https"}).lower()


# -- headers on pages -------------------------------------------------------------------------------------------


def test_pages_carry_a_content_security_policy(tmp_path: Path) -> None:
    with _client(tmp_path, client=(STRANGER, 40000)) as tc:
        r = tc.get("/login")
    assert r.status_code == 200
    policy = {
        name: values
        for name, *values in (part.split() for part in r.headers["content-security-policy"].split(";") if part.strip())
    }
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'", "ws:", "wss:"]  # signaling may be another app server's host
    assert policy["img-src"] == ["'self'", "data:", "blob:"]
    assert policy["media-src"] == ["'self'", "blob:"]
    for name in ("frame-ancestors", "object-src", "base-uri"):
        assert policy[name] == ["'none'"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


# -- API documentation ------------------------------------------------------------------------------------------


def test_no_cdn_backed_docs_pages_but_the_openapi_document(tmp_path: Path) -> None:
    with _client(tmp_path, client=(STRANGER, 40000)) as tc:
        for path in ("/api/v1/docs", "/docs", "/redoc", "/api/v1/redoc"):
            assert tc.get(path).status_code == 404, path
        document = tc.get("/api/v1/openapi.json")
    assert document.status_code == 200
    assert document.json()["info"]["title"] == "Veche"
