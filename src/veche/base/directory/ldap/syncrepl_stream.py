"""Following an OpenLDAP source with RFC 4533 refreshAndPersist (the syncprov overlay).

One persistent search per base DN (people and groups), each on its own connection read by a worker thread
(ldap3's asynchronous strategy); their cookies are kept together as one opaque cookie. ldap3's own
``persistent_search`` speaks the older psearch draft, which OpenLDAP does not implement.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import ldap3

from veche.base.directory.ldap.connection import CONNECTION_ERRORS, open_connection
from veche.base.directory.ldap.syncrepl import (
    SYNC_DONE_OID,
    SYNC_INFO_OID,
    SYNC_STATE_OID,
    SyncDone,
    SyncInfo,
    SyncMode,
    SyncRequest,
    SyncState,
    SyncStateKind,
)
from veche.base.directory.mapping import group_attributes, map_group, person_attributes
from veche.base.directory.server import (
    DirectoryChange,
    DirectoryQueryRejected,
    DirectoryUnavailable,
    EntriesDeleted,
    EntriesPresent,
    EntryChanged,
    NewCookie,
    RefreshDone,
    RefreshRequired,
)
from veche.config.directory import DirectorySource
from veche.domain.directory import normalize_dn

if TYPE_CHECKING:
    from veche.base.directory.ldap.server import LdapDirectoryServer

__all__ = ["context_cookie", "follow_syncrepl", "stream_keys"]

logger = logging.getLogger(__name__)

E_SYNC_REFRESH_REQUIRED = 4096
_POLL_S = 0.01


def stream_keys(source: DirectorySource) -> list[tuple[str, str, str, list[str]]]:
    """(key, base DN, filter, attributes) of each persistent search of a source."""
    people = [(f"people:{b}", b, source.user_filter, person_attributes(source)) for b in source.user_base_dns]
    groups = [(f"groups:{b}", b, source.group_filter, group_attributes(source)) for b in source.group_base_dns]
    return people + groups


def context_cookie(source: DirectorySource) -> bytes | None:
    """A cookie for "now": the contextCSN of the database holding the people (taken before a full pass)."""
    from veche.base.directory.ldap.server import encode_cookies

    conn, _ = open_connection(source)
    try:
        conn.search("", "(objectClass=*)", search_scope=ldap3.BASE, attributes=["namingContexts"])
        contexts = [
            v.decode() for r in conn.response or [] for v in (r.get("raw_attributes") or {}).get("namingContexts", [])
        ]
        base = normalize_dn(source.user_base_dns[0])
        suffixes = [c for c in contexts if base == normalize_dn(c) or base.endswith("," + normalize_dn(c))]
        if not suffixes:
            return None
        conn.search(max(suffixes, key=len), "(objectClass=*)", search_scope=ldap3.BASE, attributes=["contextCSN"])
        csns = [v.decode() for r in conn.response or [] for v in (r.get("raw_attributes") or {}).get("contextCSN", [])]
    finally:
        conn.unbind()
    if not csns:
        return None
    cookie = ("rid=000,csn=" + ";".join(sorted(csns))).encode()
    return encode_cookies({key: cookie for key, *_ in stream_keys(source)})


def _read_stream(
    source: DirectorySource,
    base: str,
    search_filter: str,
    attributes: list[str],
    cookie: bytes | None,
    emit: Callable[[dict[str, Any] | BaseException], None],
    stop: threading.Event,
) -> None:
    """Worker thread: run one refreshAndPersist search and hand every response to ``emit``."""
    try:
        conn, url = open_connection(source, strategy=ldap3.ASYNC)
    except BaseException as e:  # noqa: BLE001 - handed to the event loop
        emit(e)
        return
    logger.info("directory %s: following %s on %s", source.name, base, url)
    try:
        message_id = conn.search(
            base,
            search_filter,
            search_scope=ldap3.SUBTREE,
            dereference_aliases=ldap3.DEREF_NEVER,
            attributes=attributes,
            controls=[SyncRequest(SyncMode.REFRESH_AND_PERSIST, cookie).control()],
        )
        strategy: Any = conn.strategy
        while not stop.is_set():
            with strategy.async_lock:
                items = strategy._responses.get(message_id) or []
                if items:
                    strategy._responses[message_id] = []
            if not items:
                if conn.closed or not conn.listening:
                    raise DirectoryUnavailable(f"Directory source {source.name}: {url} closed the connection.")
                stop.wait(_POLL_S)
                continue
            for item in items:
                if isinstance(item, dict):
                    emit(item)
                    if item.get("type") == "searchResDone":
                        return
    except BaseException as e:  # noqa: BLE001 - handed to the event loop
        emit(e)
    finally:
        try:
            conn.unbind()
        except Exception:  # noqa: BLE001 - the connection may already be gone
            pass


async def follow_syncrepl(server: LdapDirectoryServer, cookie: bytes | None) -> AsyncIterator[DirectoryChange]:
    from veche.base.directory.ldap.server import decode_cookies, encode_cookies

    source = server.source
    cookies = decode_cookies(cookie)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, dict[str, Any] | BaseException]] = asyncio.Queue()
    stop = threading.Event()
    threads = []
    for key, base, search_filter, attributes in stream_keys(source):

        def emit(item: dict[str, Any] | BaseException, key: str = key) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, (key, item))

        thread = threading.Thread(
            target=_read_stream,
            args=(source, base, search_filter, attributes, cookies.get(key), emit, stop),
            name=f"syncrepl-{source.name}-{key}",
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    try:
        while True:
            key, item = await queue.get()
            if isinstance(item, BaseException):
                if isinstance(item, CONNECTION_ERRORS):
                    raise DirectoryUnavailable(f"Directory source {source.name}: connection lost ({item}).") from item
                raise item
            async for change in _translate(server, key, item):
                new_cookie = getattr(change, "cookie", None)
                if new_cookie:
                    cookies[key] = new_cookie
                    change = _with_cookie(change, encode_cookies(cookies))
                yield change
    finally:
        stop.set()
        for thread in threads:
            await asyncio.to_thread(thread.join, 2.0)


def _with_cookie(change: DirectoryChange, cookie: bytes) -> DirectoryChange:
    if isinstance(change, EntryChanged):
        return EntryChanged(change.person, change.group, cookie)
    if isinstance(change, EntriesDeleted):
        return EntriesDeleted(change.external_ids, cookie)
    if isinstance(change, RefreshDone):
        return RefreshDone(cookie, change.present_phase)
    if isinstance(change, NewCookie):
        return NewCookie(cookie)
    return change


async def _translate(server: LdapDirectoryServer, key: str, item: dict[str, Any]) -> AsyncIterator[DirectoryChange]:
    source = server.source
    kind = item.get("type")
    if kind == "searchResEntry":
        control = (item.get("controls") or {}).get(SYNC_STATE_OID)
        if control is None:
            return
        state = SyncState.decode(control["value"])
        if state.state is SyncStateKind.DELETE:
            yield EntriesDeleted((state.entry_uuid,), state.cookie)
        elif state.state is SyncStateKind.PRESENT:
            yield EntriesPresent((state.entry_uuid,))
        elif key.startswith("people:"):
            person = await server._person(item, entry_id=state.entry_uuid)
            if person is not None:
                yield EntryChanged(person=person, cookie=state.cookie)
        else:
            group = map_group(source, item["dn"], item.get("raw_attributes") or {}, entry_id=state.entry_uuid)
            if group is not None:
                yield EntryChanged(group=group, cookie=state.cookie)
    elif kind == "intermediateResponse" and item.get("responseName") == SYNC_INFO_OID:
        info = SyncInfo.decode(item.get("responseValue") or b"")
        if info.kind == "newcookie" and info.cookie:
            yield NewCookie(info.cookie)
        elif info.kind in ("refreshDelete", "refreshPresent"):
            if info.refresh_done:
                yield RefreshDone(info.cookie, present_phase=info.kind == "refreshPresent")
            elif info.cookie:
                yield NewCookie(info.cookie)
        elif info.refresh_deletes:
            yield EntriesDeleted(info.uuids, info.cookie)
        else:
            yield EntriesPresent(info.uuids)
    elif kind == "searchResDone":
        if item.get("result") == E_SYNC_REFRESH_REQUIRED:
            yield RefreshRequired()
            return
        if item.get("result") != 0:
            raise DirectoryQueryRejected(
                f"Directory source {source.name}: the server refused content sync: {item.get('description')} "
                f"{item.get('message') or ''}".strip()
            )
        done = (item.get("controls") or {}).get(SYNC_DONE_OID)
        if done is not None:
            yield RefreshDone(SyncDone.decode(done["value"]).cookie, present_phase=False)
        raise DirectoryUnavailable(f"Directory source {source.name}: the server ended content sync.")
