"""Following an Active Directory source: uSNChanged polling (default) or the DirSync control.

Verified against Samba 4.17's AD DC (tests/directory/test_active_directory.py), not against Windows Server; see
docs/directory.md. uSNChanged is per domain controller, so the cookie names the DC's URL and a failover to another
DC restarts from that DC's current USN after a full pass. Deletions are found through tombstones (the Show Deleted
control). DirSync sends only the attributes that changed (and group members as added/removed values), so every
object it reports is read again, whole, by its objectGUID.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import ldap3
from ldap3.core import exceptions as lx

from veche.base.directory.ldap.connection import open_connection
from veche.base.directory.mapping import external_id, group_attributes, map_group, person_attributes
from veche.base.directory.server import (
    DirectoryChange,
    DirectoryQueryRejected,
    EntriesDeleted,
    EntryChanged,
    NewCookie,
    RefreshRequired,
)
from veche.config.directory import DirectorySource, IncrementalMode
from veche.domain.directory import ad_guid, normalize_dn

if TYPE_CHECKING:
    from veche.base.directory.ldap.server import LdapDirectoryServer

__all__ = ["dirsync_cookie", "follow_ad", "highest_usn_cookie"]

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


def _usn_state(cookie: bytes | None) -> dict[str, Any] | None:
    """Our uSNChanged cookie, or None for none or another kind's (incremental was changed in the configuration)."""
    try:
        state = json.loads(cookie) if cookie else None
    except ValueError:
        return None
    return state if isinstance(state, dict) and {"url", "usn"} <= state.keys() else None


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
    state = _usn_state(cookie)
    if not state:
        yield RefreshRequired()
        return
    usn = int(state["usn"])
    first = True
    while True:
        url, attrs = await server._run(_root_dse, source)
        if url != state["url"]:
            # uSNChanged values belong to one domain controller; on another one only a full pass is safe.
            yield RefreshRequired()
            return
        high = int(attrs["highestcommittedusn"][0])
        naming_context = attrs.get("defaultnamingcontext", [b""])[0].decode()
        if high > usn:
            window = f"(uSNChanged>={usn + 1})(!(uSNChanged>={high + 1}))"
            for base in source.user_base_dns:
                found = await server._run(
                    _changed_since, source, base, f"(&{source.user_filter}{window})", person_attributes(source)
                )
                for entry in found:
                    person = await server._person(entry)
                    if person is not None:
                        yield EntryChanged(person=person)
            for base in source.group_base_dns:
                found = await server._run(
                    _changed_since, source, base, f"(&{source.group_filter}{window})", group_attributes(source)
                )
                for entry in found:
                    group = map_group(source, entry["dn"], entry.get("raw_attributes") or {})
                    if group is not None:
                        yield EntryChanged(group=group)
            if naming_context:
                tombstones = await server._run(
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
        if high > usn or first:
            # Also after the first poll of an idle directory: it tells the watcher that it is following changes.
            usn = max(usn, high)
            yield NewCookie(json.dumps({"url": url, "usn": usn}).encode())
            first = False
        await asyncio.sleep(source.poll_interval_s)


def _lower(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k.lower(): v for k, v in attrs.items()}


# -- DirSync -------------------------------------------------------------------------------------------------------


def _dirsync_rounds(
    conn: ldap3.Connection, source: DirectorySource, root: str, cookie: bytes | None
) -> Iterator[tuple[list[dict[str, Any]], bytes | None]]:
    """DirSync (1.2.840.113556.1.4.841) from the domain root: each round's entries and the cookie after it."""
    sync = conn.extend.microsoft.dir_sync(
        root,
        f"(|{source.user_filter}{source.group_filter}(isDeleted=TRUE))",
        # Objects are reported when one of these attributes changed.
        attributes=sorted({*person_attributes(source), *group_attributes(source), "isDeleted"}),
        cookie=cookie,
    )
    while True:
        try:
            entries = [e for e in sync.loop() if e.get("type") == "searchResEntry"]
        except lx.LDAPInsufficientAccessRightsResult as e:
            raise DirectoryQueryRejected(
                f"Directory source {source.name}: the server refused DirSync ({e.message or e.description}). "
                'The bind account needs the "Replicating Directory Changes" right on the domain; '
                'or use incremental = "usn".'
            ) from e
        yield entries, sync.cookie
        if not sync.more_results:
            return


def _naming_context(source: DirectorySource) -> str:
    _, attrs = _root_dse(source)
    return str(attrs.get("defaultnamingcontext", [b""])[0].decode())


def dirsync_cookie(source: DirectorySource) -> bytes | None:
    """A DirSync cookie for "now", taken before a full pass so that changes made during it are replayed.

    DirSync has no cheaper way to the current position: the server sends every matching object once, and each
    answer is dropped as it comes (Samba sends them all in one answer).
    """
    root = _naming_context(source)
    conn, _ = open_connection(source)
    try:
        cookie = None
        for _, after in _dirsync_rounds(conn, source, root, None):
            cookie = after
        return cookie
    finally:
        conn.unbind()


def _under(dn: str, bases: list[str]) -> bool:
    normalized = normalize_dn(dn)
    return any(normalized == b or normalized.endswith("," + b) for b in map(normalize_dn, bases))


def _read_whole(conn: ldap3.Connection, source: DirectorySource, guid: str) -> tuple[str, dict[str, Any]] | None:
    """The object as a person or a group of the source, read by its objectGUID; None if it is neither (now)."""
    for kind, search_filter, attributes, bases in (
        ("person", source.user_filter, person_attributes(source), source.user_base_dns),
        ("group", source.group_filter, group_attributes(source), source.group_base_dns),
    ):
        try:
            conn.search(
                f"<GUID={guid}>",
                search_filter,
                search_scope=ldap3.BASE,
                dereference_aliases=ldap3.DEREF_NEVER,
                attributes=attributes,
            )
        except lx.LDAPNoSuchObjectResult:
            return None  # deleted since: its tombstone comes with the next round
        for entry in conn.response or []:
            if entry.get("type") == "searchResEntry" and _under(entry["dn"], bases):
                return kind, entry
    return None


def _dirsync_poll(source: DirectorySource, cookie: bytes | None) -> tuple[list[tuple[str, Any]], bytes | None]:
    """Changes since ``cookie``: ("deleted", external id), ("person", entry), ("group", entry); the next cookie."""
    root = _naming_context(source)
    conn, _ = open_connection(source)
    try:
        changes: list[tuple[str, Any]] = []
        current = cookie
        for entries, after in _dirsync_rounds(conn, source, root, cookie):
            current = after
            for entry in entries:
                raw = _lower(entry.get("raw_attributes") or {})
                if raw.get("isdeleted"):
                    ext = external_id(source, raw)
                    if ext:
                        changes.append(("deleted", ext))
                    continue
                guid = raw.get("objectguid")
                whole = _read_whole(conn, source, ad_guid(guid[0])) if guid else None
                if whole is not None:
                    changes.append(whole)
        return changes, current
    finally:
        conn.unbind()


async def _follow_dirsync(server: LdapDirectoryServer, cookie: bytes | None) -> AsyncIterator[DirectoryChange]:
    source = server.source
    if _usn_state(cookie):
        yield RefreshRequired()  # a uSNChanged cookie: incremental was changed from "usn" in the configuration
        return
    current = cookie
    first = True
    while True:
        changes, after = await server._run(_dirsync_poll, source, current)
        for kind, item in changes:
            if kind == "deleted":
                yield EntriesDeleted((item,))
            elif kind == "group":
                group = map_group(source, item["dn"], item.get("raw_attributes") or {})
                if group is not None:
                    yield EntryChanged(group=group)
            else:
                person = await server._person(item)
                if person is not None:
                    yield EntryChanged(person=person)
        if after and (first or after != current):
            yield NewCookie(after)
            first = False
        current = after or current
        await asyncio.sleep(source.poll_interval_s)
