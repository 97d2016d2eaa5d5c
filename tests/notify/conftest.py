"""Fixtures of the notification tests: a fresh database (SQLite and the throwaway PostgreSQL), users, a
self-signed certificate."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.storage.conftest import database  # noqa: F401 - the fixture, SQLite and PostgreSQL
from veche.storage.database import Database
from veche.storage.users import UserStore

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


async def make_user(db: Database, login: str, *, email: str | None = None) -> int:
    user = await UserStore(db.sessions).create(
        login=login,
        display_name=login.title(),
        email=f"{login}@example.org" if email is None else email,
        password_hash="h",
        is_admin=False,
        now=NOW,
    )
    return user.id


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key (PEM files)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not found: apt-get install openssl")
    directory: Path = tmp_path_factory.mktemp("smtp-tls")
    cert, key = directory / "smtp.pem", directory / "smtp.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key
