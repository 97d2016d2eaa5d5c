"""RFC 4533 (LDAP Content Synchronization) controls and intermediate messages, built and decoded with pyasn1.

ldap3 passes unknown response controls and intermediate responses through as bytes; this module turns them
into typed values. Wire objects are small dataclasses with ``encode()`` / ``decode()``.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import namedtype, namedval, tag, univ

__all__ = [
    "SYNC_DONE_OID",
    "SYNC_INFO_OID",
    "SYNC_REQUEST_OID",
    "SYNC_STATE_OID",
    "SyncDone",
    "SyncInfo",
    "SyncMode",
    "SyncRequest",
    "SyncState",
    "SyncStateKind",
]

SYNC_REQUEST_OID = "1.3.6.1.4.1.4203.1.9.1.1"
SYNC_STATE_OID = "1.3.6.1.4.1.4203.1.9.1.2"
SYNC_DONE_OID = "1.3.6.1.4.1.4203.1.9.1.3"
SYNC_INFO_OID = "1.3.6.1.4.1.4203.1.9.1.4"


class SyncMode(enum.IntEnum):
    REFRESH_ONLY = 1
    REFRESH_AND_PERSIST = 3


class SyncStateKind(enum.IntEnum):
    PRESENT = 0
    ADD = 1
    MODIFY = 2
    DELETE = 3


# -- ASN.1 types (RFC 4533 section 2; the LDAP module uses IMPLICIT TAGS) ----------------------------------------


class _SyncRequestValue(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "mode", univ.Enumerated(namedValues=namedval.NamedValues(("refreshOnly", 1), ("refreshAndPersist", 3)))
        ),
        namedtype.OptionalNamedType("cookie", univ.OctetString()),
        namedtype.DefaultedNamedType("reloadHint", univ.Boolean(False)),
    )


class _SyncStateValue(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "state",
            univ.Enumerated(namedValues=namedval.NamedValues(("present", 0), ("add", 1), ("modify", 2), ("delete", 3))),
        ),
        namedtype.NamedType("entryUUID", univ.OctetString()),
        namedtype.OptionalNamedType("cookie", univ.OctetString()),
    )


class _SyncDoneValue(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType("cookie", univ.OctetString()),
        namedtype.DefaultedNamedType("refreshDeletes", univ.Boolean(False)),
    )


def _context(number: int, constructed: bool) -> tag.Tag:
    return tag.Tag(tag.tagClassContext, tag.tagFormatConstructed if constructed else tag.tagFormatSimple, number)


class _RefreshPhase(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType("cookie", univ.OctetString()),
        namedtype.DefaultedNamedType("refreshDone", univ.Boolean(True)),
    )


class _SyncIdSet(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType("cookie", univ.OctetString()),
        namedtype.DefaultedNamedType("refreshDeletes", univ.Boolean(False)),
        namedtype.NamedType("syncUUIDs", univ.SetOf(componentType=univ.OctetString())),
    )


class _SyncInfoValue(univ.Choice):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("newcookie", univ.OctetString().subtype(implicitTag=_context(0, False))),
        namedtype.NamedType("refreshDelete", _RefreshPhase().subtype(implicitTag=_context(1, True))),
        namedtype.NamedType("refreshPresent", _RefreshPhase().subtype(implicitTag=_context(2, True))),
        namedtype.NamedType("syncIdSet", _SyncIdSet().subtype(implicitTag=_context(3, True))),
    )


def _optional_bytes(value: univ.OctetString) -> bytes | None:
    return bytes(value) if value.isValue else None


def _uuid(raw: bytes) -> str:
    return str(uuid.UUID(bytes=raw))


# -- typed values ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncRequest:
    """The request control: refreshOnly or refreshAndPersist, from a cookie (None = from the beginning)."""

    mode: SyncMode
    cookie: bytes | None = None
    reload_hint: bool = False

    def encode(self) -> bytes:
        value = _SyncRequestValue()
        value["mode"] = int(self.mode)
        if self.cookie is not None:
            value["cookie"] = self.cookie
        if self.reload_hint:
            value["reloadHint"] = True
        return bytes(encoder.encode(value))

    def control(self) -> tuple[str, bool, bytes]:
        """The ``(oid, criticality, value)`` tuple ldap3 accepts in ``controls=``."""
        return (SYNC_REQUEST_OID, True, self.encode())


@dataclass(frozen=True)
class SyncState:
    """Sent with each entry: what happened to it, its entryUUID, and sometimes a new cookie."""

    state: SyncStateKind
    entry_uuid: str
    cookie: bytes | None = None

    @classmethod
    def decode(cls, data: bytes) -> SyncState:
        value, _ = decoder.decode(data, asn1Spec=_SyncStateValue())
        return cls(
            SyncStateKind(int(value["state"])), _uuid(bytes(value["entryUUID"])), _optional_bytes(value["cookie"])
        )


@dataclass(frozen=True)
class SyncDone:
    """Ends a refreshOnly search (or a persist search the server ends): the cookie to resume from."""

    cookie: bytes | None
    refresh_deletes: bool

    @classmethod
    def decode(cls, data: bytes) -> SyncDone:
        if not data:
            return cls(None, False)
        value, _ = decoder.decode(data, asn1Spec=_SyncDoneValue())
        return cls(_optional_bytes(value["cookie"]), bool(value["refreshDeletes"]))


@dataclass(frozen=True)
class SyncInfo:
    """An intermediate message: a new cookie, the end of a refresh phase, or a set of UUIDs.

    ``kind`` is ``newcookie``, ``refreshDelete``, ``refreshPresent`` or ``syncIdSet``. For ``syncIdSet``,
    ``refresh_deletes`` tells whether the UUIDs were deleted (True) or are present (False).
    """

    kind: str
    cookie: bytes | None = None
    refresh_done: bool = True
    refresh_deletes: bool = False
    uuids: tuple[str, ...] = ()

    @classmethod
    def decode(cls, data: bytes) -> SyncInfo:
        value, _ = decoder.decode(data, asn1Spec=_SyncInfoValue())
        kind = value.getName()
        inner = value.getComponent()
        if kind == "newcookie":
            return cls(kind, bytes(inner))
        if kind in ("refreshDelete", "refreshPresent"):
            return cls(kind, _optional_bytes(inner["cookie"]), refresh_done=bool(inner["refreshDone"]))
        return cls(
            kind,
            _optional_bytes(inner["cookie"]),
            refresh_deletes=bool(inner["refreshDeletes"]),
            uuids=tuple(_uuid(bytes(u)) for u in inner["syncUUIDs"]),
        )
