"""The whole ASGI app (all roles) on a temporary SQLite, with the in-memory media engine.

These tests check the HTTP and WebSocket edges and the logic behind them; the same paths run against the
real Janus in tests/app/test_signaling_real.py and the browser tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from veche.app.fake_engine import FakeMediaEngine
from veche.app.media_engine import MediaEngine
from veche.config.settings import load_settings
from veche.container import ALL_ROLES, Container
from veche.web.app import create_app

ADMIN_PASSWORD = "admin-password-1"


class FakeEngineContainer(Container):
    def get_media_engine(self) -> MediaEngine:
        if not hasattr(self, "_engine"):
            self._engine = FakeMediaEngine()
        return self._engine


@dataclass
class Api:
    client: TestClient
    container: FakeEngineContainer
    admin_token: str

    @property
    def engine(self) -> FakeMediaEngine:
        engine = self.container.get_media_engine()
        assert isinstance(engine, FakeMediaEngine)
        return engine

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.request(method, f"/api/v1{path}", headers=headers, **kw)

    def user(self, login: str, *, admin: bool = False) -> tuple[int, str]:
        """Create a user through the API; returns (id, bearer token)."""
        created = self.call(
            "POST",
            "/users",
            self.admin_token,
            json={
                "login": login,
                "display_name": login.title(),
                "email": f"{login}@example.org",
                "password": f"{login}-password",
                "is_admin": admin,
            },
        )
        assert created.status_code == 201, created.text
        token = self.call("POST", "/auth/token", json={"login": login, "password": f"{login}-password"})
        return created.json()["id"], token.json()["token"]

    def conference(self, token: str, **fields: Any) -> dict[str, Any]:
        created = self.call("POST", "/conferences", token, json={"name": "Weekly", **fields})
        assert created.status_code == 201, created.text
        return dict(created.json())


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    settings = load_settings(None, data_dir=tmp_path)
    container = FakeEngineContainer(settings, ALL_ROLES)
    with TestClient(create_app(container)) as client:
        client.portal.call(_create_admin, container)  # type: ignore[union-attr]
        token = client.post("/api/v1/auth/token", json={"login": "admin", "password": ADMIN_PASSWORD})
        yield Api(client=client, container=container, admin_token=token.json()["token"])


async def _create_admin(container: Container) -> None:
    await container.get_auth().create_user(
        login="admin", display_name="Administrator", email="", password=ADMIN_PASSWORD, is_admin=True
    )
