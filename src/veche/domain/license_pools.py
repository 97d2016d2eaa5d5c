"""The license's pools: what a connection takes a slot of. Shared by the license file, the leases and admission."""

from __future__ import annotations

import enum

__all__ = ["Pool", "POOL_NOUNS"]


class Pool(enum.StrEnum):
    ONLINE_USERS = "online_users"  # a signed-in user with at least one live connection (any number of tabs)
    VIDEO = "video"  # one participant in a conference, whatever its kind
    GATEWAY = "gateway"  # a SIP, H.323 or RTSP endpoint
    GUESTS = "guests"  # a guest's connection (he takes a video connection as well)


# How the refusal message names a pool: "All 50 video connections of your license are in use."
POOL_NOUNS: dict[Pool, str] = {
    Pool.ONLINE_USERS: "online users",
    Pool.VIDEO: "video connections",
    Pool.GATEWAY: "gateway connections",
    Pool.GUESTS: "guest connections",
}
