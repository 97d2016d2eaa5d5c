"""The `veche` command's contract for operators: clear refusals, and creating users from a password file."""

from __future__ import annotations

from pathlib import Path

import pytest

from veche.cli import main


def test_cluster_role_without_nats_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "veche.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n')
    assert main(["run", "app", "--config", str(config)]) == 2
    assert "needs `bus.url` (NATS)" in capsys.readouterr().err


def test_web_role_without_postgres_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "veche.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[bus]\nurl = "nats://127.0.0.1:4"\n')
    assert main(["run", "web", "--config", str(config)]) == 2
    assert "needs `database.url` (PostgreSQL)" in capsys.readouterr().err


def test_missing_or_wrong_config_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "web", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text('[bus]\nurl = "http://x"\n')
    assert main(["run", "web", "--config", str(bad)]) == 2
    assert "bus.url entries must start with nats://" in capsys.readouterr().err


def test_create_user_from_password_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    password = tmp_path / "pw"
    password.write_text("correct horse battery\n")
    assert (
        main(["admin", "create-user", "Olga", "--password-file", str(password), "--admin", "--data-dir", str(tmp_path)])
        == 0
    )
    assert "Created administrator olga" in capsys.readouterr().out
    assert main(["admin", "create-user", "olga", "--password-file", str(password), "--data-dir", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err
    short = tmp_path / "short"
    short.write_text("abc\n")
    assert main(["admin", "create-user", "ivan", "--password-file", str(short), "--data-dir", str(tmp_path)]) == 1
    assert "at least 8 characters" in capsys.readouterr().err
    assert (
        main(["admin", "create-user", "ivan", "--password-file", str(tmp_path / "none"), "--data-dir", str(tmp_path)])
        == 2
    )
    assert "Cannot read the password file" in capsys.readouterr().err
