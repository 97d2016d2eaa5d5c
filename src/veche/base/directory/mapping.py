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


def _lower(attributes: RawAttributes) -> dict[str, Sequence[bytes]]:
    # Servers spell attribute names their own way (entryUUID / entryuuid) and may add ";range=..." options.
    return {name.split(";", 1)[0].lower(): values for name, values in attributes.items()}


def _text(attrs: Mapping[str, Sequence[bytes]], name: str) -> str:
    values = attrs.get(name.lower())
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
    m = source.mapping
    login = _text(attrs, m.login).lower()
    ext = entry_id or external_id(source, attrs)
    if not login or not ext:
        return None
    disabled = disabled_by_filter or bool(attrs.get(_OPENLDAP_LOCK))
    if source.kind is DirectoryKind.AD:
        disabled = disabled or ad_account_disabled(_text(attrs, _AD_CONTROL) or None)
    return DirectoryPerson(
        source=source.name,
        external_id=ext,
        dn=normalize_dn(dn),
        login=login,
        display_name=_text(attrs, m.display_name) or login,
        email=_text(attrs, m.email),
        phone=_text(attrs, m.phone),
        department=_text(attrs, m.department),
        title=_text(attrs, m.title),
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
    name = _text(attrs, source.mapping.group_name) or normalize_dn(dn).split(",", 1)[0].split("=", 1)[-1]
    return DirectoryGroup(source=source.name, external_id=ext, dn=normalize_dn(dn), name=name, members=members)
