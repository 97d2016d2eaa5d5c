"""Who a full pass has seen so far: a bitmap of user ids, kept in memory and stored with the pass's checkpoint.

A pass must know, at its end, which people of the source it did not see (they are disabled). Marking each person
seen in a table wrote a row per person per pass (a million rows for a re-sync that changed nothing); a bitmap of
user ids is 125 KB for a million people, compressed in the checkpoint to a few KB, and written about once per
10,000 people. Group ids seen are kept in memory only: the groups phase is never resumed halfway.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

__all__ = ["PassChanges", "SeenPeople"]


class SeenPeople:
    """A set of user ids (non-negative ints) as a growable bitmap."""

    def __init__(self, bits: bytes | None = None) -> None:
        self._bits = bytearray(zlib.decompress(bits)) if bits else bytearray()

    def add(self, user_ids: Iterable[int]) -> None:
        bits = self._bits
        for uid in user_ids:
            byte = uid >> 3
            if byte >= len(bits):
                bits.extend(bytes(max(byte + 1 - len(bits), len(bits) // 2, 1024)))
            bits[byte] |= 1 << (uid & 7)

    def __contains__(self, user_id: int) -> bool:
        byte = user_id >> 3
        return byte < len(self._bits) and bool(self._bits[byte] & (1 << (user_id & 7)))

    def __len__(self) -> int:
        return sum(b.bit_count() for b in self._bits)

    def to_bytes(self) -> bytes:
        return zlib.compress(bytes(self._bits.rstrip(b"\0")), 1)


class PassChanges:
    """What a pass changed that people's groups depend on: people added or rewritten, and group members added or
    removed (by DN, or ``memberuid=`` login). Past ``limit`` of either, or when told so (nested groups changed,
    groups removed, a resumed pass), it stands for "everything": every person's groups are recomputed."""

    def __init__(self, limit: int = 20_000) -> None:
        self.limit = limit
        self.everything = False
        self.people: set[int] = set()
        self.members: set[str] = set()

    def people_changed(self, user_ids: Iterable[int]) -> None:
        if not self.everything:
            self.people.update(user_ids)
            self._check()

    def members_changed(self, members: Iterable[str]) -> None:
        if not self.everything:
            self.members.update(members)
            self._check()

    def all(self) -> None:
        self.everything = True
        self.people.clear()
        self.members.clear()

    def _check(self) -> None:
        if len(self.people) > self.limit or len(self.members) > self.limit:
            self.all()
