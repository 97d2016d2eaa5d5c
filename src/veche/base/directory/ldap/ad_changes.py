"""Following an Active Directory source: uSNChanged polling (default) or the DirSync control.

Not verified against a real Active Directory (none is available to the tests); see docs/directory.md.
uSNChanged is per domain controller, so the cookie names the DC's URL and a failover to another DC restarts
from that DC's current USN after a full pass. Deletions are found through tombstones (the Show Deleted control).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import ldap3

from veche.base.directory.ldap.connection import open_connection
from veche.base.directory.mapping import external_id, group_attributes, map_group, person_attributes
from veche.base.directory.server import (
    DirectoryChange,
    EntriesDeleted,
    EntryChanged,
    NewCookie,
    RefreshRequired,
)
from veche.config.directory import DirectorySource, IncrementalMode

if TYPE_CHECKING:
    from veche.base.directory.ldap.server import LdapDirectoryServer

__all__ = ["follow_ad", "highest_usn_cookie"]

logger = logging.getLogger(__name__)

SHOW_DELETED_OID = "1.2.840.113556.1.4.417"


def _root_dse(source: DirectorySource) -> tuple[str, dict[str, Any]]:
    conn, url = open_connection(source)
    try:
        conn.search(
            "",
            "(objectClass=*)",
            search_scope=ldap3.BASE,
            attributes=["highestCommittedUSN", "defaultNamingContext"],
        )
        attrs = {k.lower(): v for r in conn.response or [] for k, v in (r.get("raw_attributes") or {}).items()}
        return url, attrs
    finally:
        conn.unbind()


def highest_usn_cookie(source: DirectorySource) -> bytes | None:
    url, attrs = _root_dse(source)
    values = attrs.get("highestcommittedusn")
    if not values:
        return None
    return json.dumps({"url": url, "usn": int(values[0])}).encode()


def _changed_since(
    source: DirectorySource, base: str, search_filter: str, attributes: list[str], controls: list[Any] | None = None
) -> list[dict[str, Any]]:
    conn, _ = open_connection(source)
    try:
        entries = conn.extend.standard.paged_search(
            base,
            search_filter,
            search_scope=ldap3.SUBTREE,
            attributes=attributes,
            paged_size=source.page_size,
            controls=controls,
            generator=False,
        )
        return [e for e in entries or [] if e.get("type") == "searchResEntry"]
    finally:
        conn.unbind()


async def follow_ad(server: LdapDirectoryServer, cookie: bytes | None) -> AsyncIterator[DirectoryChange]:
    source = server.source
    if source.incremental_mode is IncrementalMode.DIRSYNC:
        async for change in _follow_dirsync(server, cookie):
            yield change
        return
    state = json.loads(cookie) if cookie else None
    if not state:
        yield RefreshRequired()
        return
    usn = int(state["usn"])
    while True:
        url, attrs = await asyncio.to_thread(_root_dse, source)
        if url != state["url"]:
            # uSNChanged values belong to one domain controller; on another one only a full pass is safe.
            yield RefreshRequired()
            return
        high = int(attrs["highestcommittedusn"][0])
        naming_context = attrs.get("defaultnamingcontext", [b""])[0].decode()
        if high > usn:
            window = f"(uSNChanged>={usn + 1})(!(uSNChanged>={high + 1}))"
            for base in source.user_base_dns:
                found = await asyncio.to_thread(
                    _changed_since, source, base, f"(&{source.user_filter}{window})", person_attributes(source)
                )
                for entry in found:
                    person = await server._person(entry)
                    if person is not None:
                        yield EntryChanged(person=person)
            for base in source.group_base_dns:
                found = await asyncio.to_thread(
                    _changed_since, source, base, f"(&{source.group_filter}{window})", group_attributes(source)
                )
                for entry in found:
                    group = map_group(source, entry["dn"], entry.get("raw_attributes") or {})
                    if group is not None:
                        yield EntryChanged(group=group)
            if naming_context:
                tombstones = await asyncio.to_thread(
                    _changed_since,
                    source,
                    naming_context,
                    f"(&(isDeleted=TRUE){window})",
                    ["objectGUID"],
                    [(SHOW_DELETED_OID, True, None)],
                )
                ids = tuple(
                    i for i in (external_id(source, _lower(e.get("raw_attributes") or {})) for e in tombstones) if i
                )
                if ids:
                    yield EntriesDeleted(ids)
            usn = high
            yield NewCookie(json.dumps({"url": url, "usn": usn}).encode())
        await asyncio.sleep(source.poll_interval_s)


def _lower(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k.lower(): v for k, v in attrs.items()}


async def _follow_dirsync(server: LdapDirectoryServer, cookie: bytes | None) -> AsyncIterator[DirectoryChange]:
    """DirSync (1.2.840.113556.1.4.841) from the domain root: changed and deleted objects since the cookie."""
    source = server.source

    def poll(current: bytes | None) -> tuple[list[dict[str, Any]], bytes | None]:
        url, attrs = _root_dse(source)
        root = attrs.get("defaultnamingcontext", [b""])[0].decode()
        conn, _ = open_connection(source)
        try:
            sync = conn.extend.microsoft.dir_sync(
                root,
                f"(|{source.user_filter}{source.group_filter}(isDeleted=TRUE))",
                attributes=list({*person_attributes(source), *group_attributes(source), "isDeleted", "objectClass"}),
                cookie=current,
            )
            entries: list[dict[str, Any]] = []
            while True:
                entries.extend(sync.loop())
                if not sync.more_results:
                    break
            return entries, sync.cookie
        finally:
            conn.unbind()

    current = cookie
    while True:
        entries, current = await asyncio.to_thread(poll, current)
        for entry in entries:
            raw = _lower(entry.get("raw_attributes") or {})
            if raw.get("isdeleted"):
                ext = external_id(source, raw)
                if ext:
                    yield EntriesDeleted((ext,))
                continue
            classes = {v.decode().lower() for v in raw.get("objectclass", [])}
            if "group" in classes:
                group = map_group(source, entry["dn"], raw)
                if group is not None:
                    yield EntryChanged(group=group)
            else:
                person = await server._person(entry)
                if person is not None:
                    yield EntryChanged(person=person)
        if current:
            yield NewCookie(current)
        await asyncio.sleep(source.poll_interval_s)
