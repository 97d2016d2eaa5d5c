"""Login abuse through the API: concurrent guesses, locking a user out from elsewhere, hashing on the event loop.

Requests from chosen client addresses go through httpx's ASGI transport on the app's own event loop (the
TestClient's portal): the app takes the address from the ASGI scope and trusts no forwarding header.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

import veche.base.auth
from tests.web.conftest import ADMIN_PASSWORD, Api

TOKEN = "/api/v1/auth/token"
RIGHT = {"login": "admin", "password": ADMIN_PASSWORD}
WRONG = {"login": "admin", "password": "wrong-password"}


class RecordingHasher(PasswordHasher):
    """Counts verifications and notes the thread of every hash; can hold verifications until released."""

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.lock = threading.Lock()
        self.verify_threads: list[int] = []
        self.hash_threads: list[int] = []
        self.hold: threading.Event | None = None
        self.holding = threading.Event()
        self.released_while_held: list[bool] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 - argon2's names
        with self.lock:
            self.verify_threads.append(threading.get_ident())
        if self.hold is not None:
            self.holding.set()
            self.released_while_held.append(self.hold.wait(timeout=30))  # a guard against a deadlock, not a delay
        return super().verify(hash, password)

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        with self.lock:
            self.hash_threads.append(threading.get_ident())
        return super().hash(password, salt=salt)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingHasher]:
    recording = RecordingHasher()
    monkeypatch.setattr(veche.base.auth, "_hasher", recording)
    yield recording
    if recording.hold is not None:
        recording.hold.set()


def _client(api: Api, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=api.client.app, client=(address, 50000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def _logins(api: Api, address: str, bodies: list[dict[str, str]]) -> list[httpx.Response]:
    """Send the logins from one address all at once."""

    async def send() -> list[httpx.Response]:
        async with _client(api, address) as client:
            return list(await asyncio.gather(*(client.post(TOKEN, json=body) for body in bodies)))

    return api.client.portal.call(send)  # type: ignore[union-attr]


def test_concurrent_wrong_logins_from_one_address_check_at_most_the_limit(api: Api, hasher: RecordingHasher) -> None:
    answers = _logins(api, "10.0.0.9", [WRONG] * 40)
    assert len(hasher.verify_threads) == 5  # the limit: the other 35 were refused before any hashing
    assert Counter(r.status_code for r in answers) == {401: 5, 429: 35}
    refused = next(r for r in answers if r.status_code == 429)
    assert refused.json()["error"]["code"] == "rate_limited" and int(refused.headers["Retry-After"]) >= 1
    # All five failed: that address is now refused for admin even with the right password, without hashing.
    (again,) = _logins(api, "10.0.0.9", [RIGHT])
    assert again.status_code == 429 and "Too many failed logins" in again.json()["error"]["message"]
    assert len(hasher.verify_threads) == 5


def test_failures_elsewhere_do_not_lock_the_right_password_out(api: Api, hasher: RecordingHasher) -> None:
    for _ in range(5):
        (wrong,) = _logins(api, "10.6.6.6", [WRONG])
        assert wrong.status_code == 401
    (admin,) = _logins(api, "10.0.0.2", [RIGHT])
    assert admin.status_code == 200 and admin.json()["user"]["login"] == "admin"
    (attacker,) = _logins(api, "10.6.6.6", [WRONG])
    assert attacker.status_code == 429 and int(attacker.headers["Retry-After"]) > 0
    assert "Too many failed logins for this account from your address" in attacker.json()["error"]["message"]
    (still,) = _logins(api, "10.6.6.6", [RIGHT])
    assert still.status_code == 429  # the address that failed stays throttled, right password or not
    assert api.call("GET", "/auth/me", admin.json()["token"]).status_code == 200


def test_the_event_loop_answers_while_passwords_are_hashed(api: Api, hasher: RecordingHasher) -> None:
    health_answered = threading.Event()
    hasher.hold = health_answered  # every verification waits until a health request has been answered

    async def scenario() -> tuple[int, list[httpx.Response], int]:
        loop_thread = threading.get_ident()
        clients = [_client(api, f"10.0.1.{i}") for i in range(4)]
        logins = [asyncio.ensure_future(c.post(TOKEN, json=RIGHT if i % 2 else WRONG)) for i, c in enumerate(clients)]
        assert await asyncio.to_thread(hasher.holding.wait, 30)  # a hash is running now
        async with _client(api, "10.0.2.1") as other:
            health = await other.get("/api/v1/health")
        health_answered.set()
        answers = list(await asyncio.gather(*logins))
        for c in clients:
            await c.aclose()
        return health.status_code, answers, loop_thread

    health, answers, loop_thread = api.client.portal.call(scenario)  # type: ignore[union-attr]
    assert health == 200
    assert [r.status_code for r in answers] == [401, 200, 401, 200]
    assert hasher.released_while_held and all(hasher.released_while_held)  # health came while hashes were held
    assert len(hasher.verify_threads) == 4 and loop_thread not in hasher.verify_threads


def test_unknown_logins_new_users_and_rehashing_hash_off_the_loop(api: Api, hasher: RecordingHasher) -> None:
    async def loop_ident() -> int:
        return threading.get_ident()

    loop_thread = api.client.portal.call(loop_ident)  # type: ignore[union-attr]
    (unknown,) = _logins(api, "10.0.3.1", [{"login": "nobody", "password": "whatever-1"}])
    assert unknown.status_code == 401 and len(hasher.verify_threads) == 1  # the dummy hash, checked all the same
    uid, _ = api.user("ivan")  # its password is hashed when the user is created
    assert len(hasher.hash_threads) == 1
    # A hash made with weaker parameters is replaced on the next login.
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash("ivan-password")
    api.client.portal.call(api.container.get_user_store().set_password_hash, uid, weak)  # type: ignore[union-attr]
    (login,) = _logins(api, "10.0.3.2", [{"login": "ivan", "password": "ivan-password"}])
    assert login.status_code == 200 and len(hasher.hash_threads) == 2
    row = api.client.portal.call(api.container.get_user_store().by_login, "ivan")  # type: ignore[union-attr]
    assert row is not None and row[1] != weak and not PasswordHasher().check_needs_rehash(row[1])
    assert loop_thread not in hasher.verify_threads + hasher.hash_threads
