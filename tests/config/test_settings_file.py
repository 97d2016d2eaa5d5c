"""The configuration file: a misspelt key in any section stops the start with its name, instead of being ignored."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from veche.config.settings import load_settings


@pytest.mark.parametrize(
    ("section", "key"),
    [("http", "tls_cert"), ("database", "uri"), ("security", "sesion_ttl"), ("signaling", "url"), ("chat", "retain")],
)
def test_an_unknown_key_is_refused_with_its_name(tmp_path: Path, section: str, key: str) -> None:
    config = tmp_path / "veche.toml"
    config.write_text(f'[{section}]\n{key} = "x"\n')
    with pytest.raises(ValidationError, match=rf"{section}\.{key}\s+Extra inputs are not permitted"):
        load_settings(config, data_dir=tmp_path)


def test_known_keys_still_load(tmp_path: Path) -> None:
    config = tmp_path / "veche.toml"
    config.write_text("[http]\nport = 9443\ntls = false\n[chat]\nretention_days = 30\n")
    settings = load_settings(config, data_dir=tmp_path)
    assert (settings.http.port, settings.http.tls, settings.chat.retention_days) == (9443, False, 30)
