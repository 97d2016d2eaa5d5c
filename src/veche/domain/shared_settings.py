"""Cluster-wide settings edited once in the manager and applied by every server without a restart."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["SharedSettings"]


class SharedSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    revision: int = Field(default=0, ge=0)
    domain: str = Field(default="", max_length=253, description="The organisation's domain name for Veche.")
    video_max_height: Literal[180, 360, 720, 1080] = Field(default=720, description="Camera capture height.")
    video_max_bitrate_bps: int = Field(default=1_500_000, ge=100_000, le=8_000_000)
    turn_servers: list[dict[str, Any]] = Field(default_factory=list, description="RTCIceServer objects for clients.")
    guests_allowed: bool = Field(default=True, description="Guest policy: False refuses guests everywhere.")
    video_codec: Literal["vp8", "vp9"] = Field(
        default="vp8",
        description="Default video of conferences that do not choose: vp8 (simulcast) or vp9 (SVC, L3T3_KEY).",
    )

    @field_validator("turn_servers")
    @classmethod
    def _ice_servers(cls, servers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for server in servers:
            urls = server.get("urls")
            items = urls if isinstance(urls, list) else [urls]
            if not items or not all(isinstance(u, str) and u.startswith(("turn:", "turns:", "stun:")) for u in items):
                raise ValueError("each TURN server needs `urls` starting with turn:, turns: or stun:")
        return servers

    def client_defaults(self) -> dict[str, int]:
        return {"video_max_height": self.video_max_height, "video_max_bitrate_bps": self.video_max_bitrate_bps}
