"""Files in chats through the HTTP API of the whole app (all roles, SQLite, the real chat access and posting):
what a sender, another member, a guest and an outsider see."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from fastapi.testclient import TestClient

from tests.base.files.eicar_scanner import EICAR
from tests.support.s3_server import S3Server
from tests.web.conftest import Api, FakeEngineContainer, _create_admin
from veche.config.settings import load_settings
from veche.container import ALL_ROLES
from veche.web.app import create_app

SCANNER = [sys.executable, str(Path(__file__).parents[1] / "base" / "files" / "eicar_scanner.py"), "{path}"]
PDF = b"%PDF-1.7\n" + b"minutes " * 500


@pytest.fixture
def files_api(tmp_path: Path) -> Iterator[Api]:
    settings = load_settings(
        None,
        data_dir=tmp_path,
        files={"max_size_mb": 0.05, "quota_mb": 0.1, "scan_command": SCANNER, "allowed_types": [".pdf", ".txt"]},
    )
    container = FakeEngineContainer(settings, ALL_ROLES)
    with TestClient(create_app(container)) as client:
        client.portal.call(_create_admin, container)  # type: ignore[union-attr]
        token = client.post("/api/v1/auth/token", json={"login": "admin", "password": "admin-password-1"})
        yield Api(client=client, container=container, admin_token=token.json()["token"])


def _upload(api: Api, token: str | None, chat: str, name: str, data: bytes, text: str = "", **kw: Any) -> Any:
    return api.call(
        "POST", f"/chats/{chat}/files", token, files={"file": (name, data, "application/octet-stream")},
        data={"text": text} if text else None, **kw,
    )  # fmt: skip


def _members(api: Api) -> tuple[str, str, str, dict[str, Any]]:
    _, alice = api.user("alice")
    bob_id, bob = api.user("bob")
    _, eve = api.user("eve")
    conference = api.conference(alice, access="invited", invited=[bob_id], guests_allowed=True)
    return alice, bob, eve, conference


def test_a_member_sends_a_file_and_another_downloads_it_under_its_name(files_api: Api) -> None:
    alice, bob, _, conference = _members(files_api)
    chat = f"conference:{conference['id']}"
    sent = _upload(files_api, alice, chat, "Протокол встречи.pdf", PDF, "the minutes")
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert (body["name"], body["size"], body["content_type"]) == ("Протокол встречи.pdf", len(PDF), "application/pdf")

    history = files_api.call("GET", f"/chats/conferences/{conference['id']}/messages", bob).json()
    message = history["messages"][-1]
    assert (message["text"], message["attachment"]["file_id"]) == ("the minutes", body["file_id"])

    got = files_api.client.get(body["url"], headers={"Authorization": f"Bearer {bob}"})
    assert got.status_code == 200
    assert got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"] == (
        "attachment; filename=\"________ _______.pdf\"; filename*=UTF-8''" + quote("Протокол встречи.pdf", safe="")
    )
    assert "sandbox" in got.headers["content-security-policy"]

    listed = files_api.call("GET", f"/chats/{chat}/files", bob).json()
    assert [f["file_id"] for f in listed] == [body["file_id"]]


def test_an_outsider_gets_404_for_the_file_exactly_as_for_no_file(files_api: Api) -> None:
    alice, _, eve, conference = _members(files_api)
    file_id = _upload(files_api, alice, f"conference:{conference['id']}", "a.pdf", PDF).json()["file_id"]
    hidden = files_api.call("GET", f"/files/{file_id}", eve)
    unknown = files_api.call("GET", "/files/" + "A" * 43, eve)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == unknown.json()
    refused = _upload(files_api, eve, f"conference:{conference['id']}", "b.pdf", PDF)
    assert refused.status_code == 404
    assert refused.json() == _upload(files_api, eve, "conference:999999", "b.pdf", PDF).json()
    assert files_api.call("GET", f"/files/{file_id}").status_code == 401


def test_a_guest_with_the_invite_downloads_and_sends(files_api: Api) -> None:
    alice, _, _, conference = _members(files_api)
    chat = f"conference:{conference['id']}"
    file_id = _upload(files_api, alice, chat, "a.pdf", PDF).json()["file_id"]
    code = conference["invite_url"].rsplit("/", 1)[-1]
    got = files_api.call("GET", f"/files/{file_id}?invite={code}")
    assert got.status_code == 200 and got.content == PDF
    sent = _upload(files_api, None, chat, "guest.txt", b"from a guest", params={"invite": code, "guest_name": "Gina"})
    assert sent.status_code == 201, sent.text
    history = files_api.call("GET", f"/chats/invites/{code}/messages").json()
    assert (history["messages"][-1]["display_name"], history["messages"][-1]["attachment"]["name"]) == (
        "Gina",
        "guest.txt",
    )
    assert files_api.call("GET", f"/files/{file_id}?invite=wrong-code").status_code == 401


def test_refusals_say_why_in_words(files_api: Api) -> None:
    alice, _, _, conference = _members(files_api)
    chat = f"conference:{conference['id']}"

    big = _upload(files_api, alice, chat, "big.pdf", b"%PDF-" + b"x" * 60_000)
    assert big.status_code == 413
    assert big.json()["error"] == {
        "code": "too_large",
        "message": "The file is larger than the limit of 50 kB; it was not sent.",
    }

    exe = _upload(files_api, alice, chat, "setup.exe", b"MZ\x90\x00")
    assert exe.status_code == 415 and exe.json()["error"]["code"] == "type_not_allowed"
    assert ".exe files may not be sent here" in exe.json()["error"]["message"]

    lie = _upload(files_api, alice, chat, "report.pdf", b"\x7fELF\x02\x01")
    assert lie.status_code == 415 and "is a program, not a PDF document" in lie.json()["error"]["message"]

    virus = _upload(files_api, alice, chat, "eicar.txt", EICAR)
    assert virus.status_code == 422
    assert virus.json()["error"] == {
        "code": "infected",
        "message": "“eicar.txt” was refused by the virus scan; it was not sent.",
    }

    history = files_api.call("GET", f"/chats/conferences/{conference['id']}/messages", alice).json()
    assert history["messages"] == []  # nothing refused was posted


def test_the_quota_says_use_and_quota(files_api: Api) -> None:
    alice, _, _, conference = _members(files_api)
    chat = f"conference:{conference['id']}"
    for _ in range(2):
        assert _upload(files_api, alice, chat, "a.pdf", b"%PDF-" + b"x" * 44_995).status_code == 201
    full = _upload(files_api, alice, chat, "b.pdf", b"%PDF-" + b"x" * 19_995)
    assert full.status_code == 413
    assert full.json()["error"]["code"] == "quota_exceeded"
    assert full.json()["error"]["message"].startswith(
        "Your files take 90 kB of your 100 kB quota; this one (20 kB) does not fit."
    )
    limits = files_api.call("GET", "/files/limits", alice).json()
    assert (limits["used_bytes"], limits["quota_bytes"], limits["max_size_bytes"]) == (90_000, 100_000, 50_000)


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = S3Server.start(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield server
    finally:
        server.stop()


def test_with_s3_storage_the_file_lives_in_the_bucket(tmp_path: Path, s3_server: S3Server) -> None:
    bucket = f"veche-{secrets.token_hex(4)}"
    s3_server.create_bucket(bucket)
    secret = tmp_path / "s3_secret"
    secret.write_text(s3_server.secret_access_key + "\n")
    s3 = {
        "endpoint_url": s3_server.url,
        "bucket": bucket,
        "access_key_id": s3_server.access_key_id,
        "secret_access_key_file": str(secret),
    }
    settings = load_settings(None, data_dir=tmp_path / "data", files={"storage": "s3", "s3": s3})
    container = FakeEngineContainer(settings, ALL_ROLES)
    with TestClient(create_app(container)) as client:
        client.portal.call(_create_admin, container)  # type: ignore[union-attr]
        token = client.post("/api/v1/auth/token", json={"login": "admin", "password": "admin-password-1"})
        api = Api(client=client, container=container, admin_token=token.json()["token"])
        alice, bob, _, conference = _members(api)
        sent = _upload(api, alice, f"conference:{conference['id']}", "a.pdf", PDF)
        assert sent.status_code == 201, sent.text
        got = api.call("GET", f"/files/{sent.json()['file_id']}", bob)
        assert got.status_code == 200 and got.content == PDF
    objects = boto3.client(
        "s3",
        endpoint_url=s3_server.url,
        region_name="us-east-1",
        aws_access_key_id=s3_server.access_key_id,
        aws_secret_access_key=s3_server.secret_access_key,
    ).list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in objects["Contents"]] == [f"chat-files/{sent.json()['file_id']}"]
    assert not (tmp_path / "data" / "files").exists()
