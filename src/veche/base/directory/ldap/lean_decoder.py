"""A leaner decoding of search result entries for ldap3 connections.

ldap3 decodes every entry twice: raw values and values converted to text (with a configuration lookup per value),
which was a third of a large sync's CPU. Veche only reads the raw values, so entries are decoded once; every
other kind of message keeps ldap3's own decoding.
"""

from __future__ import annotations

from typing import Any

import ldap3

__all__ = ["install_lean_decoder"]

_SEARCH_RESULT_ENTRY = 4  # LDAPMessage protocolOp


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
