"""The real directory edge over ldap3: paged searches, binds, and following changes.

ldap3 is blocking, so every call runs in a worker thread (``asyncio.to_thread``); a paged search fetches the
next page while the caller stores the current one, so at most two pages are in memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import ldap3
from ldap3.core import exceptions as lx
from ldap3.utils.conv import escape_filter_chars

from veche.base.directory.ldap.connection import CONNECTION_ERRORS, open_connection, open_user_connection
from veche.base.directory.mapping import group_attributes, map_group, map_person, person_attributes
from veche.base.directory.server import (
    DirectoryChange,
    DirectoryQueryRejected,
    DirectoryServer,
    DirectoryUnavailable,
)
from veche.config.directory import DirectorySource, IncrementalMode
from veche.domain.directory import DirectoryGroup, DirectoryPerson, normalize_dn

__all__ = ["LdapDirectoryServer"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
Page = tuple[list[dict[str, Any]], bytes | None]


def _raw(entry: dict[str, Any]) -> dict[str, list[bytes]]:
    return dict(entry.get("raw_attributes") or {})


class LdapDirectoryServer(DirectoryServer):
    """One source over LDAP. Each call opens its own connection (failover happens per call)."""

    def __init__(self, source: DirectorySource) -> None:
        super().__init__(source)

    # -- plumbing ------------------------------------------------------------------------------------------------

    async def _run(self, call: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(call, *args)
        except lx.LDAPOperationResult as e:
            raise DirectoryQueryRejected(
                f"Directory source {self.source.name}: the server refused the request: {e.description}"
                f"{' - ' + e.message if e.message else ''}. Check base DNs and filters."
            ) from e
        except lx.LDAPInvalidFilterError as e:
            raise DirectoryQueryRejected(f"Directory source {self.source.name}: invalid LDAP filter ({e}).") from e
        except CONNECTION_ERRORS as e:
            raise DirectoryUnavailable(f"Directory source {self.source.name}: connection lost ({e}).") from e

    @staticmethod
    def _page(
        conn: ldap3.Connection, base: str, search_filter: str, attributes: list[str], size: int, cookie: bytes | None
    ) -> Page:
        conn.search(
            base,
            search_filter,
            search_scope=ldap3.SUBTREE,
            dereference_aliases=ldap3.DEREF_NEVER,
            attributes=attributes,
            paged_size=size,
            paged_cookie=cookie,
        )
        entries = [r for r in conn.response or [] if r.get("type") == "searchResEntry"]
        control = (conn.result.get("controls") or {}).get("1.2.840.113556.1.4.319")
        next_cookie = control["value"]["cookie"] if control else None
        return entries, next_cookie or None

    async def _paged(
        self, bases: list[str], search_filter: str, attributes: list[str]
    ) -> AsyncIterator[list[dict[str, Any]]]:
        for base in bases:
            conn, _ = await self._run(lambda: open_connection(self.source))
            pending: asyncio.Task[Page] | None = None
            try:
                size = self.source.page_size
                pending = asyncio.ensure_future(
                    self._run(self._page, conn, base, search_filter, attributes, size, None)
                )
                while pending is not None:
                    entries, cookie = await pending
                    pending = None
                    if cookie:
                        pending = asyncio.ensure_future(
                            self._run(self._page, conn, base, search_filter, attributes, size, cookie)
                        )
                    yield entries
            finally:
                if pending is not None:
                    await asyncio.gather(pending, return_exceptions=True)
                await asyncio.to_thread(conn.unbind)

    async def _disabled_dns(self) -> set[str]:
        """DNs of people matching the disabled filter (few): one DN-only paged search."""
        if not self.source.disabled_filter:
            return set()
        found: set[str] = set()
        combined = f"(&{self.source.user_filter}{self.source.disabled_filter})"
        async for entries in self._paged(self.source.user_base_dns, combined, ["1.1"]):
            found.update(normalize_dn(e["dn"]) for e in entries)
        return found

    # -- DirectoryServer ------------------------------------------------------------------------------------------

    async def check(self) -> str:
        def probe() -> str:
            conn, url = open_connection(self.source)
            conn.unbind()
            return url

        return await self._run(probe)

    async def people(self) -> AsyncIterator[list[DirectoryPerson]]:
        disabled = await self._disabled_dns()
        attributes = person_attributes(self.source)
        async for entries in self._paged(self.source.user_base_dns, self.source.user_filter, attributes):
            page = []
            for e in entries:
                person = map_person(self.source, e["dn"], _raw(e), disabled_by_filter=normalize_dn(e["dn"]) in disabled)
                if person is not None:
                    page.append(person)
            yield page

    async def groups(self) -> AsyncIterator[list[DirectoryGroup]]:
        bases = self.source.group_base_dns
        if not bases:
            return
        async for entries in self._paged(bases, self.source.group_filter, group_attributes(self.source)):
            yield [g for g in (map_group(self.source, e["dn"], _raw(e)) for e in entries) if g is not None]

    def _search_one(self, base: str, scope: str, search_filter: str) -> dict[str, Any] | None:
        conn, _ = open_connection(self.source)
        try:
            try:
                conn.search(
                    base,
                    search_filter,
                    search_scope=scope,
                    dereference_aliases=ldap3.DEREF_NEVER,
                    attributes=person_attributes(self.source),
                    size_limit=2,
                )
            except lx.LDAPNoSuchObjectResult:
                return None
            entries = [r for r in conn.response or [] if r.get("type") == "searchResEntry"]
            return entries[0] if len(entries) == 1 else None
        finally:
            conn.unbind()

    def _matches(self, dn: str, search_filter: str) -> bool:
        conn, _ = open_connection(self.source)
        try:
            try:
                conn.search(dn, search_filter, search_scope=ldap3.BASE, attributes=["1.1"])
            except lx.LDAPNoSuchObjectResult:
                return False
            return any(r.get("type") == "searchResEntry" for r in conn.response or [])
        finally:
            conn.unbind()

    async def _person(self, entry: dict[str, Any] | None, entry_id: str | None = None) -> DirectoryPerson | None:
        if entry is None:
            return None
        disabled = False
        if self.source.disabled_filter:
            dn = entry["dn"]
            disabled = await self._run(lambda: self._matches(dn, self.source.disabled_filter))
        return map_person(self.source, entry["dn"], _raw(entry), entry_id=entry_id, disabled_by_filter=disabled)

    async def find_person(self, login: str) -> DirectoryPerson | None:
        search_filter = f"(&{self.source.user_filter}({self.source.mapping.login}={escape_filter_chars(login)}))"
        for base in self.source.user_base_dns:
            entry = await self._run(self._search_one, base, ldap3.SUBTREE, search_filter)
            if entry is not None:
                return await self._person(entry)
        return None

    async def read_person(self, dn: str) -> DirectoryPerson | None:
        entry = await self._run(lambda: self._search_one(dn, ldap3.BASE, self.source.user_filter))
        return await self._person(entry)

    async def verify_password(self, dn: str, password: str) -> None:
        def bind() -> None:
            open_user_connection(self.source, dn, password).unbind()

        try:
            await asyncio.to_thread(bind)
        except CONNECTION_ERRORS as e:
            raise DirectoryUnavailable(f"Directory source {self.source.name}: connection lost ({e}).") from e

    async def change_cookie(self) -> bytes | None:
        mode = self.source.incremental_mode
        if mode is IncrementalMode.SYNCREPL:
            from veche.base.directory.ldap.syncrepl_stream import context_cookie

            return await self._run(lambda: context_cookie(self.source))
        if mode is IncrementalMode.USN:
            from veche.base.directory.ldap.ad_changes import highest_usn_cookie

            return await self._run(lambda: highest_usn_cookie(self.source))
        if mode is IncrementalMode.DIRSYNC:
            from veche.base.directory.ldap.ad_changes import dirsync_cookie

            return await self._run(lambda: dirsync_cookie(self.source))
        return None

    async def changes(self, cookie: bytes | None) -> AsyncIterator[DirectoryChange]:
        mode = self.source.incremental_mode
        if mode is IncrementalMode.SYNCREPL:
            from veche.base.directory.ldap.syncrepl_stream import follow_syncrepl

            async for change in follow_syncrepl(self, cookie):
                yield change
        elif mode in (IncrementalMode.USN, IncrementalMode.DIRSYNC):
            from veche.base.directory.ldap.ad_changes import follow_ad

            async for change in follow_ad(self, cookie):
                yield change
        else:
            await asyncio.Event().wait()  # incremental sync is off: nothing ever changes


def encode_cookies(cookies: dict[str, bytes]) -> bytes:
    """Several streams' cookies (people, groups) as one opaque cookie."""
    return json.dumps({k: v.decode("latin-1") for k, v in sorted(cookies.items())}).encode()


def decode_cookies(cookie: bytes | None) -> dict[str, bytes]:
    if not cookie:
        return {}
    try:
        value = json.loads(cookie)
    except ValueError:
        return {}
    return {k: v.encode("latin-1") for k, v in value.items()} if isinstance(value, dict) else {}
