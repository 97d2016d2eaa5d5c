"""The ``janus`` config section: how the app role runs (or reaches) its Janus media engine.

By default Veche runs Janus as a child process with a generated configuration (see
:mod:`veche.app.janus.process`); with ``ws_url`` set it connects to an external Janus instead.
Everything is checked when the section is loaded, so a typo fails at startup with a clear message
rather than as a Janus that never answers.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["DEFAULT_ENGINE_ROOT", "JanusConfig", "built_engine_binary"]

# Where scripts/up builds Janus from Debian's source package (scripts/lib/janus.sh): <root>/janus is the
# current build. VECHE_ENGINE_ROOT moves it, for the scripts and Veche alike.
DEFAULT_ENGINE_ROOT = Path("/opt/veche/engine")
_PACKAGED_CONFIG_DIR = Path("/etc/janus")


def built_engine_binary() -> Path | None:
    """The Janus that scripts/up built, if there is one."""
    root = Path(os.environ.get("VECHE_ENGINE_ROOT") or DEFAULT_ENGINE_ROOT)
    binary = root / "janus" / "bin" / "janus"
    return binary if os.access(binary, os.X_OK) else None


def _default_binary() -> str:
    built = built_engine_binary()
    return str(built) if built is not None else "janus"


_PORT_RANGE = re.compile(r"^(\d{1,5})-(\d{1,5})$")
# Interface names / address prefixes end up inside a quoted libconfig string: keep them boring.
_ICE_ENTRY = re.compile(r"^[A-Za-z0-9_.:@%-]+$")


class JanusConfig(BaseModel):
    """Settings of the Janus media engine used by one app server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    binary: str = Field(
        default_factory=_default_binary,
        min_length=1,
        description="Janus executable (name on PATH or a path). Default: the engine scripts/up built "
        "(/opt/veche/engine/janus/bin/janus, or under $VECHE_ENGINE_ROOT), else `janus` on PATH.",
    )
    ws_url: str | None = Field(
        None, description="ws:// URL of an external Janus; when set Veche does not run Janus itself."
    )
    api_secret_file: Path | None = Field(
        None,
        description="File holding the Janus API secret. When unset (and Veche runs Janus) a secret is "
        "generated once and kept in <data_dir>/janus/api_secret (mode 0600).",
    )
    source_config_dir: Path | None = Field(
        None,
        description="Where the installed Janus configuration lives (its module folders are read from it). "
        "Default: <prefix>/etc/janus next to the binary's bin/, else /etc/janus.",
    )
    ice_interfaces: list[str] = Field(
        default_factory=list,
        description="Interfaces or address prefixes Janus gathers ICE candidates on (empty = every non-loopback one).",
    )
    ice_ignore_list: list[str] = Field(
        default_factory=list, description="Interfaces or address prefixes Janus must not use for ICE."
    )
    nat_1_1_mapping: str | None = Field(
        None, description="Public address(es), comma separated, to advertise instead of the host addresses."
    )
    keep_private_host: bool = Field(False, description="With nat_1_1_mapping, also keep the private candidates.")
    rtp_port_range: str = Field("20000-40000", description="UDP ports Janus uses for media, as 'min-max'.")
    slowlink_threshold: int = Field(
        4,
        ge=0,
        le=1000,
        description="Packets lost in a second on one stream that make Janus report a struggling link; a viewer "
        "whose downlink struggles gets one video layer less for a while. 0 turns it off.",
    )
    debug_level: int = Field(4, ge=0, le=7, description="Janus log level (0-7); logs go to <data_dir>/janus/janus.log.")
    start_timeout_s: float = Field(10.0, gt=0, description="How long to wait for a started Janus to answer.")
    request_timeout_s: float = Field(10.0, gt=0, description="How long to wait for Janus to answer one request.")
    stop_timeout_s: float = Field(5.0, gt=0, description="Grace period after SIGTERM before SIGKILL.")
    keepalive_interval_s: float = Field(25.0, gt=0, description="Janus session keepalive period.")
    restart_backoff_max_s: float = Field(5.0, gt=0, description="Longest pause between two restart attempts.")

    @field_validator("ws_url")
    @classmethod
    def _check_ws_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError(f"janus.ws_url must start with ws:// or wss://, got {value!r}")
        return value

    @field_validator("api_secret_file")
    @classmethod
    def _check_secret_file(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        if not value.is_file():
            raise ValueError(f"janus.api_secret_file {str(value)!r} does not exist or is not a file")
        try:
            text = value.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"janus.api_secret_file {str(value)!r} cannot be read: {exc.strerror}") from exc
        if not text:
            raise ValueError(f"janus.api_secret_file {str(value)!r} is empty")
        if '"' in text or "\\" in text or "\n" in text:
            raise ValueError(f"janus.api_secret_file {str(value)!r} must hold one line without quotes or backslashes")
        return value

    @field_validator("ice_interfaces", "ice_ignore_list")
    @classmethod
    def _check_ice_entries(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not _ICE_ENTRY.match(entry):
                raise ValueError(
                    f"{entry!r} is not an interface name or address prefix (letters, digits, '.', ':', '-', '_')"
                )
        return value

    @field_validator("nat_1_1_mapping")
    @classmethod
    def _check_nat_mapping(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = [part.strip() for part in value.split(",")]
        for part in parts:
            try:
                ipaddress.ip_address(part)
            except ValueError:
                raise ValueError(
                    f"janus.nat_1_1_mapping must be IP addresses separated by commas; {part!r} is not one"
                ) from None
        return ",".join(parts)

    @field_validator("rtp_port_range")
    @classmethod
    def _check_port_range(cls, value: str) -> str:
        match = _PORT_RANGE.match(value.strip())
        if not match:
            raise ValueError(f"janus.rtp_port_range must look like '20000-40000', got {value!r}")
        low, high = int(match.group(1)), int(match.group(2))
        if not 1024 <= low <= high <= 65535:
            raise ValueError(f"janus.rtp_port_range {value!r} must satisfy 1024 <= min <= max <= 65535")
        if high - low < 10:
            raise ValueError(f"janus.rtp_port_range {value!r} is too small (each peer connection needs a port)")
        return f"{low}-{high}"

    @model_validator(mode="after")
    def _check_external(self) -> JanusConfig:
        if self.ws_url is None and not self.binary.strip():
            raise ValueError("janus.binary must name the Janus executable when janus.ws_url is not set")
        return self

    @property
    def installed_config_dir(self) -> Path:
        """``source_config_dir``, or the one installed with the binary (``<prefix>/etc/janus``)."""
        if self.source_config_dir is not None:
            return self.source_config_dir
        found = shutil.which(self.binary)
        if found is not None:
            beside = Path(found).resolve().parent.parent / "etc" / "janus"
            if (beside / "janus.jcfg").is_file():
                return beside
        return _PACKAGED_CONFIG_DIR

    @property
    def runs_child(self) -> bool:
        """Whether Veche starts Janus itself (no external ``ws_url``)."""
        return self.ws_url is None

    def read_api_secret(self) -> str | None:
        """The secret from ``api_secret_file`` (stripped), or ``None`` when no file is configured."""
        if self.api_secret_file is None:
            return None
        return self.api_secret_file.read_text(encoding="utf-8").strip()
