"""An in-memory directory source for tests of the sync, login and address book logic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

from veche.base.directory.server import (
    AccountDisabled,
    DirectoryChange,
    DirectoryServer,
    DirectoryUnavailable,
    EntriesDeleted,
    EntryChanged,
    InvalidCredentials,
)
from veche.config.directory import DirectorySource
from veche.domain.directory import DirectoryGroup, DirectoryPerson, normalize_dn

__all__ = ["InMemoryDirectoryServer"]


class InMemoryDirectoryServer(DirectoryServer):
    """People, groups and passwords in dictionaries; changes made through it are also streamed to ``changes``."""

    def __init__(
        self,
        source: DirectorySource,
        people: Iterable[DirectoryPerson] = (),
        groups: Iterable[DirectoryGroup] = (),
        passwords: dict[str, str] | None = None,
    ) -> None:
        super().__init__(source)
        self.people_by_id = {p.external_id: p for p in people}
        self.groups_by_id = {g.external_id: g for g in groups}
        self.passwords = {normalize_dn(k): v for k, v in (passwords or {}).items()}
        self.available = True
        self.fail_after_pages: int | None = None  # raise DirectoryUnavailable after this many pages
        self._changes: asyncio.Queue[DirectoryChange] = asyncio.Queue()

    def _check(self) -> None:
        if not self.available:
            raise DirectoryUnavailable(f"Directory source {self.source.name}: no server answered (in memory).")

    async def check(self) -> str:
        self._check()
        return "memory://"

    async def people(self) -> AsyncIterator[list[DirectoryPerson]]:
        self._check()
        ordered = sorted(self.people_by_id.values(), key=lambda p: p.external_id)
        size = self.source.page_size
        for n, i in enumerate(range(0, len(ordered), size)):
            if self.fail_after_pages is not None and n >= self.fail_after_pages:
                raise DirectoryUnavailable(f"Directory source {self.source.name}: connection lost (in memory).")
            yield ordered[i : i + size]

    async def groups(self) -> AsyncIterator[list[DirectoryGroup]]:
        self._check()
        ordered = sorted(self.groups_by_id.values(), key=lambda g: g.external_id)
        for i in range(0, len(ordered), self.source.page_size):
            yield ordered[i : i + self.source.page_size]

    async def find_person(self, login: str) -> DirectoryPerson | None:
        self._check()
        return next((p for p in self.people_by_id.values() if p.login == login.lower()), None)

    async def read_person(self, dn: str) -> DirectoryPerson | None:
        self._check()
        return next((p for p in self.people_by_id.values() if p.dn == normalize_dn(dn)), None)

    async def verify_password(self, dn: str, password: str) -> None:
        self._check()
        person = await self.read_person(dn)
        if not password or person is None or self.passwords.get(normalize_dn(dn)) != password:
            raise InvalidCredentials(dn)
        if person.disabled:
            raise AccountDisabled(dn)

    async def change_cookie(self) -> bytes | None:
        return b"memory"

    async def changes(self, cookie: bytes | None) -> AsyncIterator[DirectoryChange]:
        while True:
            self._check()
            yield await self._changes.get()

    # -- test helpers: change the directory --------------------------------------------------------------------

    def put_person(self, person: DirectoryPerson, password: str | None = None) -> None:
        self.people_by_id[person.external_id] = person
        if password is not None:
            self.passwords[person.dn] = password
        self._changes.put_nowait(EntryChanged(person=person, cookie=b"memory"))

    def put_group(self, group: DirectoryGroup) -> None:
        self.groups_by_id[group.external_id] = group
        self._changes.put_nowait(EntryChanged(group=group, cookie=b"memory"))

    def delete(self, external_id: str) -> None:
        self.people_by_id.pop(external_id, None)
        self.groups_by_id.pop(external_id, None)
        self._changes.put_nowait(EntriesDeleted((external_id,), b"memory"))
