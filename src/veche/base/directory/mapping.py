"""Directory entries (DN + raw attribute values) to Veche's people and groups, by a source's attribute mapping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from veche.config.directory import DirectoryKind, DirectorySource
from veche.domain.directory import (
    DirectoryGroup,
    DirectoryPerson,
    ad_account_disabled,
    ad_guid,
    normalize_dn,
)
from veche.storage.directory_groups import login_member

__all__ = ["group_attributes", "map_group", "map_person", "person_attributes"]

RawAttributes = Mapping[str, Sequence[bytes]]

# Operational attributes telling that an account is locked or disabled.
_OPENLDAP_LOCK = "pwdaccountlockedtime"
_AD_CONTROL = "useraccountcontrol"


def person_attributes(source: DirectorySource) -> list[str]:
    m = source.mapping
    names = [m.id, m.login, m.display_name, m.email, m.phone, m.department, m.title]
    names.append("userAccountControl" if source.kind is DirectoryKind.AD else "pwdAccountLockedTime")
    return list(dict.fromkeys(names))


def group_attributes(source: DirectorySource) -> list[str]:
    m = source.mapping
    return list(dict.fromkeys([m.id, m.group_name, m.group_member]))


_LOWER: dict[str, str] = {}  # attribute names as sent -> as looked up (a handful per source)


def _lower(attributes: RawAttributes) -> dict[str, Sequence[bytes]]:
    # Servers spell attribute names their own way (entryUUID / entryuuid) and may add ";range=..." options.
    lowered = {}
    for name, values in attributes.items():
        key = _LOWER.get(name)
        if key is None:
            key = name.split(";", 1)[0].lower()
            if len(_LOWER) < 1000:
                _LOWER[name] = key
        lowered[key] = values
    return lowered


def _text(attrs: Mapping[str, Sequence[bytes]], name: str) -> str:
    """The first value of attribute ``name`` (lower-case) as text, stripped."""
    values = attrs.get(name)
    if not values:
        return ""
    value = values[0]
    return value.decode("utf-8", errors="replace").strip() if isinstance(value, bytes) else str(value).strip()


def external_id(source: DirectorySource, attrs: Mapping[str, Sequence[bytes]]) -> str:
    values = attrs.get(source.mapping.id.lower())
    if not values:
        return ""
    value = values[0]
    if source.mapping.id.lower() == "objectguid":
        return ad_guid(value)
    return (value.decode() if isinstance(value, bytes) else str(value)).lower()


class _PersonNames:
    """A source's person attribute names, lower-cased once (mapping runs a million times in a large sync)."""

    def __init__(self, source: DirectorySource) -> None:
        m = source.mapping
        self.source = source
        self.id = m.id.lower()
        self.guid = self.id == "objectguid"
        self.fields = tuple(n.lower() for n in (m.login, m.display_name, m.email, m.phone, m.department, m.title))
        self.ad = source.kind is DirectoryKind.AD


_NAMES: dict[int, _PersonNames] = {}


def _person_names(source: DirectorySource) -> _PersonNames:
    names = _NAMES.get(id(source))
    if names is None or names.source is not source:
        if len(_NAMES) > 64:
            _NAMES.clear()
        names = _NAMES[id(source)] = _PersonNames(source)
    return names


def map_person(
    source: DirectorySource,
    dn: str,
    attributes: RawAttributes,
    *,
    entry_id: str | None = None,
    disabled_by_filter: bool = False,
) -> DirectoryPerson | None:
    """The person, or None if the entry lacks a login or an id (it cannot be a Veche user)."""
    attrs = _lower(attributes)
    names = _person_names(source)
    texts = []
    for field in names.fields:  # _text, inlined: a million people per sync
        values = attrs.get(field)
        if not values:
            texts.append("")
            continue
        raw = values[0]
        texts.append(raw.decode("utf-8", "replace").strip() if isinstance(raw, bytes) else str(raw).strip())
    login, display_name, email, phone, department, title = texts
    login = login.lower()
    if entry_id:
        ext = entry_id
    else:
        values = attrs.get(names.id)
        value = values[0] if values else None
        if value is None:
            ext = ""
        elif names.guid:
            ext = ad_guid(value)
        else:
            ext = (value.decode() if isinstance(value, bytes) else str(value)).lower()
    if not login or not ext:
        return None
    disabled = disabled_by_filter or bool(attrs.get(_OPENLDAP_LOCK))
    if names.ad:
        disabled = disabled or ad_account_disabled(_text(attrs, _AD_CONTROL) or None)
    return DirectoryPerson(
        source=source.name,
        external_id=ext,
        dn=normalize_dn(dn),
        login=login,
        display_name=display_name or login,
        email=email,
        phone=phone,
        department=department,
        title=title,
        disabled=disabled,
    )


def map_group(
    source: DirectorySource, dn: str, attributes: RawAttributes, *, entry_id: str | None = None
) -> DirectoryGroup | None:
    attrs = _lower(attributes)
    ext = entry_id or external_id(source, attrs)
    if not ext:
        return None
    values = (
        (v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v)).strip()
        for v in attrs.get(source.mapping.group_member.lower(), ())
    )
    to_member = login_member if source.mapping.members_are_logins else normalize_dn
    members = tuple(to_member(v) for v in values if v)
    name = _text(attrs, source.mapping.group_name.lower()) or normalize_dn(dn).split(",", 1)[0].split("=", 1)[-1]
    return DirectoryGroup(source=source.name, external_id=ext, dn=normalize_dn(dn), name=name, members=members)
