"""database.url naming a primary and its standbys: every host with its port, and target_session_attrs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from veche.config.settings import DatabaseConfig

TWO_HOSTS = "postgresql+asyncpg://veche@/veche?host=10.0.0.1:5432&host=10.0.0.2:5432"


def test_every_host_with_target_session_attrs_is_accepted() -> None:
    url = f"{TWO_HOSTS}&target_session_attrs=read-write"
    assert DatabaseConfig(url=url).url == url


def test_one_host_needs_nothing_more() -> None:
    assert DatabaseConfig(url="postgresql+asyncpg://veche@10.0.0.1:5432/veche").url


def test_several_hosts_without_target_session_attrs_are_refused() -> None:
    with pytest.raises(ValidationError, match="target_session_attrs=read-write"):
        DatabaseConfig(url=TWO_HOSTS)


def test_a_host_without_its_port_is_refused() -> None:
    with pytest.raises(ValidationError, match="host=name:port"):
        DatabaseConfig(url="postgresql+asyncpg://veche@/veche?host=a:5432&host=b&target_session_attrs=read-write")
