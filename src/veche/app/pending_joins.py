"""How many signaling sockets each client address holds open without having joined yet.

A socket costs memory before its ``join`` is checked (its frames are read, up to the protocol's size limit), and
joining needs no account: the signaling endpoint admits at most :data:`MAX_PENDING_PER_ADDRESS` such sockets per
address and closes further ones with :data:`CLOSE_TOO_MANY_PENDING` (docs/protocol.md, "Close codes").
"""

from __future__ import annotations

__all__ = ["CLOSE_TOO_MANY_PENDING", "MAX_PENDING_PER_ADDRESS", "PendingJoins", "PendingSlot"]

MAX_PENDING_PER_ADDRESS = 20
# RFC 6455 "Try Again Later": the client may reconnect (with back-off), unlike after a 4000-4999 close.
CLOSE_TOO_MANY_PENDING = 1013


class PendingJoins:
    """Counts, per address, the sockets that were accepted and have not sent a valid ``join`` yet."""

    def __init__(self, limit_per_address: int = MAX_PENDING_PER_ADDRESS) -> None:
        self.limit_per_address = limit_per_address
        self._counts: dict[str, int] = {}

    def admit(self, address: str) -> PendingSlot | None:
        """Count one more socket of ``address``; None (not counted) when it already has the limit."""
        count = self._counts.get(address, 0)
        if count >= self.limit_per_address:
            return None
        self._counts[address] = count + 1
        return PendingSlot(self, address)

    def count(self, address: str) -> int:
        return self._counts.get(address, 0)

    def _release(self, address: str) -> None:
        count = self._counts.get(address, 0) - 1
        if count > 0:
            self._counts[address] = count
        else:
            self._counts.pop(address, None)


class PendingSlot:
    """One counted socket; :meth:`release` (once its ticket is valid, or when it closes) may be called again."""

    def __init__(self, owner: PendingJoins, address: str) -> None:
        self._owner = owner
        self.address = address
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._owner._release(self.address)
