"""A leaner decoding of search result entries for ldap3 connections.

ldap3 decodes every message with a generic BER walker into nested tuples, then every entry twice more: raw
values and values converted to text (with a configuration lookup per value). That was most of a large sync's CPU
(16 s of Python for 100,000 people). Veche only reads the raw values, so on a synchronous connection a search
result entry is read straight from its bytes (:func:`decode_search_entry`) into the dictionary ldap3 would have
built; every other message, and an entry this reader does not expect (controls, ranged attributes), keeps
ldap3's own decoding.
"""

from __future__ import annotations

from typing import Any

import ldap3
from ldap3.strategy.base import RESPONSE_COMPLETE, SESSION_TERMINATED_BY_SERVER
from ldap3.strategy.sync import SyncStrategy
from ldap3.utils.asn1 import decode_message_fast

__all__ = ["decode_search_entry", "install_lean_decoder"]

_SEARCH_RESULT_ENTRY = 4  # LDAPMessage protocolOp
_NOT_LAST = ("searchResEntry", "searchResRef", "intermediateResponse")
_NAMES: dict[bytes, str] = {}  # attribute names as sent (a handful per source)


def _length(data: bytes, i: int) -> tuple[int, int]:
    """BER definite length at ``data[i]``: (length, offset of the value)."""
    first = data[i]
    if first < 0x80:
        return first, i + 1
    n = first - 0x80
    return int.from_bytes(data[i + 1 : i + 1 + n], "big"), i + 1 + n


def decode_search_entry(data: bytes) -> tuple[int, dict[str, Any]] | None:
    """(message id, entry) of an LDAPMessage holding a plain searchResEntry; None for anything else.

    The entry is what :func:`install_lean_decoder`'s ldap3 hook gives: ``dn``, ``raw_dn``, ``raw_attributes``.
    """
    if len(data) < 8 or data[0] != 0x30:
        return None
    _, i = _length(data, 1)
    if data[i] != 0x02:
        return None
    size, i = _length(data, i + 1)
    message_id = int.from_bytes(data[i : i + size], "big", signed=True)
    i += size
    if data[i] != 0x64:  # [APPLICATION 4] constructed: searchResEntry
        return None
    size, i = _length(data, i + 1)
    if i + size != len(data):  # controls follow
        return None
    if data[i] != 0x04:
        return None
    size, i = _length(data, i + 1)
    raw_dn = data[i : i + size]
    i += size
    if data[i] != 0x30:
        return None
    size, i = _length(data, i + 1)
    end = i + size
    raw: dict[str, list[bytes]] = {}
    names = _NAMES
    while i < end:  # PartialAttribute ::= SEQUENCE { type, vals SET OF value }; lengths inlined (short form)
        size = data[i + 1]
        i = i + 2 if size < 0x80 else _length(data, i + 1)[1]
        size = data[i + 1]
        if size < 0x80:
            i += 2
        else:
            size, i = _length(data, i + 1)
        key = data[i : i + size]
        name = names.get(key)
        if name is None:
            name = names.setdefault(key, key.decode("utf-8", "replace")) if len(names) < 1000 else key.decode()
        i += size
        size = data[i + 1]
        if size < 0x80:
            i += 2
        else:
            size, i = _length(data, i + 1)
        stop = i + size
        values = []
        while i < stop:
            size = data[i + 1]
            if size < 0x80:
                i += 2
            else:
                size, i = _length(data, i + 1)
            values.append(data[i : i + size])
            i += size
        raw[name] = values
    if any(";range=" in k for k in raw):
        return None  # ldap3's auto_range needs its own dictionaries
    entry = {
        "type": "searchResEntry",
        "raw_dn": raw_dn,
        "dn": raw_dn.decode("utf-8", "replace"),
        "raw_attributes": raw,
        "attributes": {},
    }
    return message_id, entry


def install_lean_decoder(connection: ldap3.Connection) -> None:
    strategy: Any = connection.strategy
    original = strategy.decode_response_fast

    def decode(message: dict[str, Any]) -> dict[str, Any]:
        if message["protocolOp"] != _SEARCH_RESULT_ENTRY:
            return dict(original(message))
        payload = message["payload"]
        raw_dn = bytes(payload[0][3])
        raw: dict[str, list[bytes]] = {}
        for attribute in payload[1][3]:
            raw[bytes(attribute[3][0][3]).decode("utf-8", "replace")] = [bytes(v[3]) for v in attribute[3][1][3]]
        result: dict[str, Any] = {
            "type": "searchResEntry",
            "raw_dn": raw_dn,
            "dn": raw_dn.decode("utf-8", "replace"),
            "raw_attributes": raw,
            # ldap3's auto_range (Active Directory sends big groups' members 1,500 at a time) merges the ranges in
            # both dicts: it needs the ranged attributes in this one too (as bytes: only the raw values are read).
            "attributes": {k: list(v) for k, v in raw.items()} if any(";range=" in k for k in raw) else {},
        }
        if message["controls"]:
            result["controls"] = dict(strategy.decode_control_fast(c[3]) for c in message["controls"])
        return result

    strategy.decode_response_fast = decode
    if type(strategy) is SyncStrategy and not connection.usage:
        strategy._get_response = _sync_get_response(strategy, decode)


def _sync_get_response(strategy: Any, decode: Any) -> Any:
    """ldap3's ``SyncStrategy._get_response`` with :func:`decode_search_entry` tried first on every message."""

    def get_response(message_id: int, timeout: int) -> Any:
        responses: list[dict[str, Any]] = []
        while True:
            received = strategy.receiving()
            if not received:
                return SESSION_TERMINATED_BY_SERVER
            for message in received:
                if not message:
                    continue
                fast = decode_search_entry(message)
                if fast is not None and fast[0] == message_id:
                    responses.append(fast[1])
                    continue
                decoded = decode_message_fast(message)
                response = decode(decoded)
                received_id = int(decoded["messageID"])
                if received_id == message_id:
                    responses.append(response)
                    if response["type"] not in _NOT_LAST:
                        responses.append(RESPONSE_COMPLETE)
                        return responses
                elif received_id == 0 and response.get("responseName") == "1.3.6.1.4.1.1466.20036":
                    return SESSION_TERMINATED_BY_SERVER  # notice of disconnection (RFC 4511 4.4.1)
                else:
                    strategy.connection.last_error = "invalid messageId received"
                    raise ldap3.core.exceptions.LDAPSocketReceiveError(strategy.connection.last_error)

    return get_response
