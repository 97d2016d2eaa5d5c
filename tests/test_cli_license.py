"""`veche license keygen | issue | install`, run as an operator runs them: the real command in a subprocess."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from veche.domain.license import generate_key


def veche(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("VECHE_")}
    return subprocess.run(
        [sys.executable, "-m", "veche", "license", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def vendor_key(tmp_path: Path) -> Path:
    result = veche(tmp_path, "keygen", "--out", "vendor.key")
    assert result.returncode == 0, result.stderr
    return tmp_path / "vendor.key"


def issue(cwd: Path, key: Path, out: str, *extra: str, expires: str = "2099-12-31") -> Path:
    result = veche(cwd, "issue", "--key", str(key), "--org", "Example Org", "--expires", expires, *extra, "--out", out)
    assert result.returncode == 0, result.stderr
    return cwd / out


def test_keygen_writes_a_private_key_only_its_owner_reads_and_the_public_key(tmp_path: Path) -> None:
    result = veche(tmp_path, "keygen", "--out", "vendor.key")
    assert result.returncode == 0, result.stderr
    key = tmp_path / "vendor.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    public = (tmp_path / "vendor.key.pub").read_text()
    assert public.startswith("ed25519:") and public.endswith("\n") and public.count("\n") == 1
    assert public.strip() in result.stdout


def test_keygen_never_overwrites_a_key(tmp_path: Path, vendor_key: Path) -> None:
    before = vendor_key.read_bytes()
    result = veche(tmp_path, "keygen", "--out", "vendor.key")
    assert result.returncode == 2
    assert "vendor.key already exists; it is not overwritten" in result.stderr
    assert vendor_key.read_bytes() == before


def test_issue_then_install_with_trust(tmp_path: Path, vendor_key: Path) -> None:
    license_file = issue(tmp_path, vendor_key, "example.license", "--video", "200", "--guests", "0")
    assert json.loads(license_file.read_text())["license"]["pools"] == {
        "online_users": None,
        "video": 200,
        "gateway": None,
        "guests": 0,
    }
    data = tmp_path / "data"
    result = veche(tmp_path, "install", str(license_file), "--trust", "vendor.key.pub", "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    assert "Installed the license of Example Org, valid until 2099-12-31" in result.stdout
    assert "online users: unlimited" in result.stdout
    assert "video connections: 200" in result.stdout
    assert "gateway connections: unlimited" in result.stdout
    assert "guest connections: 0" in result.stdout
    assert str(data / "license" / "license.json") in result.stdout
    assert "pick it up within a few seconds" in result.stdout
    assert (data / "license" / "license.json").read_bytes() == license_file.read_bytes()
    public = (tmp_path / "vendor.key.pub").read_text()
    assert (data / "license" / "trusted.keys").read_text() == public

    # The trust is remembered: the next license of the same vendor installs without --trust.
    renewal = issue(tmp_path, vendor_key, "renewal.license", "--video", "300")
    result = veche(tmp_path, "install", str(renewal), "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    assert "video connections: 300" in result.stdout


def test_trusted_keys_from_the_configuration(tmp_path: Path, vendor_key: Path) -> None:
    license_file = issue(tmp_path, vendor_key, "example.license")
    data = tmp_path / "data"
    config = tmp_path / "veche.toml"
    config.write_text(f'data_dir = "{data}"\n\n[license]\ntrusted_keys = ["{vendor_key}.pub"]\n')
    result = veche(tmp_path, "install", str(license_file), "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert (data / "license" / "license.json").read_bytes() == license_file.read_bytes()
    assert not (data / "license" / "trusted.keys").exists()


def test_refused_files_leave_the_installed_license_as_it_was(tmp_path: Path, vendor_key: Path) -> None:
    data = tmp_path / "data"
    good = issue(tmp_path, vendor_key, "good.license", "--video", "50")
    installed = veche(tmp_path, "install", str(good), "--trust", "vendor.key.pub", "--data-dir", str(data))
    assert installed.returncode == 0, installed.stderr
    installed_file = data / "license" / "license.json"
    trusted_file = data / "license" / "trusted.keys"
    before, trusted_before = installed_file.read_bytes(), trusted_file.read_bytes()

    tampered = tmp_path / "tampered.license"
    tampered.write_text(good.read_text().replace('"video": 50', '"video": 5000'))
    expired = issue(tmp_path, vendor_key, "expired.license", expires="2026-01-01")
    stranger = tmp_path / "stranger.key"
    stranger_private, stranger_public = generate_key()
    stranger.write_bytes(stranger_private)
    unknown = issue(tmp_path, stranger, "unknown.license")
    malformed = tmp_path / "malformed.license"
    malformed.write_text("this is not a license\n")

    refusals = {
        tampered: "The license file was changed after it was signed: its signature does not match.",
        expired: "The license of Example Org expired on 2026-01-01.",
        unknown: "The license is signed by a key this installation does not trust (ed25519:",
        malformed: "The license file is not a Veche license: it is not JSON",
    }
    for path, message in refusals.items():
        result = veche(tmp_path, "install", str(path), "--data-dir", str(data))
        assert result.returncode == 2, (path, result.stdout, result.stderr)
        assert message in result.stderr
        assert "the license in use (if any) is unchanged" in result.stderr
        assert installed_file.read_bytes() == before
        assert trusted_file.read_bytes() == trusted_before

    # A key given with --trust is not remembered when the license it came with is refused.
    stranger_pub = tmp_path / "stranger.key.pub"
    stranger_pub.write_text(stranger_public + "\n")
    stranger_expired = issue(tmp_path, stranger, "stranger-expired.license", expires="2026-01-01")
    result = veche(tmp_path, "install", str(stranger_expired), "--trust", str(stranger_pub), "--data-dir", str(data))
    assert result.returncode == 2
    assert "expired on 2026-01-01" in result.stderr
    assert trusted_file.read_bytes() == trusted_before
    assert installed_file.read_bytes() == before


def test_issue_checks_its_options(tmp_path: Path, vendor_key: Path) -> None:
    for expires in ("31.12.2027", "2027-02-30", "20271231"):
        result = veche(tmp_path, "issue", "--key", str(vendor_key), "--org", "X", "--expires", expires, "--out", "x")
        assert result.returncode == 2
        assert "is not a date written YYYY-MM-DD" in result.stderr
    for count in ("-1", "many"):
        options = ["--key", str(vendor_key), "--org", "X", "--expires", "2099-01-01", "--video", count]
        result = veche(tmp_path, "issue", *options, "--out", "x")
        assert result.returncode == 2
        assert "is not a whole number of 0 or more" in result.stderr
    result = veche(tmp_path, "issue", "--key", "missing.key", "--org", "X", "--expires", "2099-01-01", "--out", "x")
    assert result.returncode == 2
    assert "cannot read the key missing.key" in result.stderr
    assert not (tmp_path / "x").exists()
