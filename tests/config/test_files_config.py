"""The [files] section: defaults an operator can rely on, and mistakes refused at load with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from veche.config.settings import load_settings


def test_defaults(tmp_path: Path) -> None:
    files = load_settings(None, data_dir=tmp_path).files
    assert (files.max_size_bytes, files.quota_bytes, files.storage) == (100_000_000, 1_024_000_000, "filesystem")
    assert {".pdf", ".docx", ".png", ".txt", ".zip", ".mp3", ".mp4"} <= set(files.allowed_types)
    assert not {".exe", ".html", ".svg"} & set(files.allowed_types)
    assert files.scan_command == []


def test_from_a_file(tmp_path: Path) -> None:
    config = tmp_path / "veche.toml"
    config.write_text(
        "[files]\nmax_size_mb = 20\nquota_mb = 0\nallowed_types = ['.PDF', 'image/*']\nstorage = 's3'\n"
        "scan_command = ['clamdscan', '--fdpass', '{path}']\n"
        "[files.s3]\nendpoint_url = 'http://minio:9000'\nbucket = 'veche'\n"
    )
    files = load_settings(config, data_dir=tmp_path).files
    assert (files.max_size_bytes, files.quota_bytes, files.allowed_types) == (20_000_000, None, [".pdf", "image/*"])
    assert (files.s3.endpoint_url, files.s3.bucket) == ("http://minio:9000", "veche")


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ({"storage": "s3"}, "files.s3.bucket"),
        ({"scan_command": ["clamdscan"]}, '"{path}"'),
        ({"allowed_types": ["pdf"]}, "neither an extension"),
        ({"max_size_mb": 0}, "max_size_mb"),
        ({"quota": 5}, "quota"),
    ],
)
def test_mistakes_are_refused_naming_the_key(tmp_path: Path, files: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        load_settings(None, data_dir=tmp_path, files=files)
