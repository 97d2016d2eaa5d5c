"""The one seam every participant passes before entering a room: a license seat for each pool he takes.

A browser user takes a video connection and, with his first connection on this server, an online user; a guest
takes a video connection and a guest connection; a gateway endpoint a video and a gateway connection. The seat is
released on every way out (the room releases it when the participant leaves, by whatever path).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field

from veche.domain.license_pools import Pool
from veche.domain.room import ParticipantKind
from veche.domain.room_errors import LicenseExhausted

__all__ = ["Admission", "CountedAdmission", "Seat", "pools_for"]


def pools_for(kind: ParticipantKind, guest: bool) -> list[Pool]:
    """The per-connection pools a participant takes (online users are counted per identity, apart)."""
    pools = [Pool.VIDEO]
    if guest:
        pools.append(Pool.GUESTS)
    if kind is ParticipantKind.GATEWAY:
        pools.append(Pool.GATEWAY)
    return pools


@dataclass
class Seat:
    """What a participant holds; ``release`` gives it all back, once."""

    _release: Callable[[], None]
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._release()


class Admission(abc.ABC):
    @abc.abstractmethod
    async def admit(self, identity: str, kind: ParticipantKind, guest: bool) -> Seat:
        """A seat, or :class:`LicenseExhausted` naming the first pool that has none."""


@dataclass
class CountedAdmission(Admission):
    """Fixed limits held in memory (tests, and the baseline of bench/licenses.py). None: unlimited."""

    limits: dict[Pool, int | None] = field(default_factory=dict)
    in_use: dict[Pool, int] = field(default_factory=dict)
    _online: dict[str, int] = field(default_factory=dict)

    async def admit(self, identity: str, kind: ParticipantKind, guest: bool) -> Seat:
        pools = pools_for(kind, guest)
        user = identity if identity.startswith("user:") else None
        first = user is not None and self._online.get(user, 0) == 0
        for pool in [*pools, *([Pool.ONLINE_USERS] if first else [])]:
            limit = self.limits.get(pool)
            if limit is not None and self.in_use.get(pool, 0) >= limit:
                raise LicenseExhausted(pool, limit)
        for pool in pools:
            self.in_use[pool] = self.in_use.get(pool, 0) + 1
        if user is not None:
            if first:
                self.in_use[Pool.ONLINE_USERS] = self.in_use.get(Pool.ONLINE_USERS, 0) + 1
            self._online[user] = self._online.get(user, 0) + 1

        def release() -> None:
            for pool in pools:
                self.in_use[pool] -= 1
            if user is not None:
                self._online[user] -= 1
                if self._online[user] == 0:  # his last connection here: one online user fewer
                    del self._online[user]
                    self.in_use[Pool.ONLINE_USERS] -= 1

        return Seat(release)
