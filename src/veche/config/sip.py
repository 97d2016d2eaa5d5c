"""The ``sip`` config section: where the app role listens for SIP dial-in (docs/sip.md)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SipConfig"]


class SipConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(default=True, description="Listen for SIP calls (app role).")
    host: str = Field(default="", description="Address to listen on (default: http.host).")
    port: int = Field(default=5060, ge=0, le=65535, description="SIP over UDP and TCP, on the same port (0: any free).")
    tls_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="SIP over TLS, with the server's certificate (http.tls_cert_file or the generated one).",
    )
    max_message_bytes: int = Field(default=16_384, ge=1024, le=65_535, description="A longer message is refused.")
