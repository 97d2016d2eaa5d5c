"""The ``directory`` config section: LDAP / Active Directory sources the address book is synced from.

Every source is checked when the configuration is loaded: URLs, filters (parsed the way the LDAP client will send
them) and names, so a typo fails at startup or in ``veche directory sync`` with a message naming the field.
The bind password is read from ``bind_password_file``; it is never in the configuration itself.
"""

from __future__ import annotations

import enum
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from veche.domain.directory import AccessLevel

__all__ = [
    "AttributeMapping",
    "DirectoryConfig",
    "DirectoryKind",
    "DirectorySource",
    "IncrementalMode",
    "check_filter",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


class DirectoryKind(enum.StrEnum):
    OPENLDAP = "openldap"
    AD = "ad"


class IncrementalMode(enum.StrEnum):
    AUTO = "auto"  # syncrepl for OpenLDAP, usn for Active Directory
    SYNCREPL = "syncrepl"  # RFC 4533 refreshAndPersist (OpenLDAP syncprov)
    USN = "usn"  # poll uSNChanged (Active Directory); deletions by tombstones (Show Deleted control)
    DIRSYNC = "dirsync"  # Active Directory DirSync control (needs "Replicating Directory Changes")
    OFF = "off"


def check_filter(value: str, field: str) -> str:
    """Parse an LDAP filter as the client will; raise a readable error if it is malformed."""
    from ldap3.core.exceptions import LDAPInvalidFilterError
    from ldap3.operation.search import parse_filter

    try:
        parse_filter(value, None, True, True, None, False)
    except LDAPInvalidFilterError as e:
        raise ValueError(f"{field} is not a valid LDAP filter: {value!r} ({e})") from e
    return value


class AttributeMapping(BaseModel):
    """Which LDAP attribute fills which field. Defaults depend on the source's kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="A stable unique id: entryUUID (OpenLDAP) or objectGUID (AD).")
    login: str
    display_name: str
    email: str = "mail"
    phone: str = "telephoneNumber"
    department: str
    title: str = "title"
    group_name: str = "cn"
    # member (groupOfNames), uniqueMember (groupOfUniqueNames): DNs. memberUid (posixGroup): logins, matched
    # against the login attribute of the source's people.
    group_member: str = "member"

    @property
    def members_are_logins(self) -> bool:
        return self.group_member.lower() == "memberuid"

    @classmethod
    def for_kind(cls, kind: DirectoryKind) -> AttributeMapping:
        if kind is DirectoryKind.AD:
            return cls(id="objectGUID", login="sAMAccountName", display_name="displayName", department="department")
        return cls(id="entryUUID", login="uid", display_name="cn", department="departmentNumber")


_DEFAULT_FILTERS = {
    DirectoryKind.OPENLDAP: (
        "(objectClass=inetOrgPerson)",
        "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
    ),
    DirectoryKind.AD: ("(&(objectClass=user)(objectCategory=person))", "(objectClass=group)"),
}


class DirectorySource(BaseModel):
    """One directory (an AD domain, an OpenLDAP tree). Several sources may be configured at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Short unique name, e.g. `corp` or `ldap-eu` (lowercase, digits, - and _).")
    kind: DirectoryKind = DirectoryKind.OPENLDAP
    urls: list[str] = Field(min_length=1, description="ldap:// or ldaps:// URLs, tried in order (failover).")
    start_tls: bool = False
    ca_file: Path | None = None
    tls_verify: bool = True
    bind_dn: str = ""
    bind_password_file: Path | None = None
    user_base_dns: list[str] = Field(min_length=1)
    group_base_dns: list[str] = Field(default_factory=list)
    user_filter: str = ""
    group_filter: str = ""
    # People matching this filter are synced as disabled and cannot log in. Active Directory's disabled flag
    # (userAccountControl bit 2) is always honoured for kind "ad".
    disabled_filter: str = ""
    attributes: AttributeMapping | None = None
    # Group (by name or DN) -> role. Only "admin" grants anything today.
    group_roles: dict[str, Literal["admin", "user"]] = Field(default_factory=dict)
    # Group (by name or DN) -> what its members may see in the address book.
    group_access: dict[str, AccessLevel] = Field(default_factory=dict)
    default_access: AccessLevel = AccessLevel.EVERYONE
    page_size: int = Field(default=500, ge=1, le=5000)
    timeout_s: float = Field(default=5.0, gt=0, le=120)
    incremental: IncrementalMode = IncrementalMode.AUTO
    poll_interval_s: float = Field(default=5.0, gt=0)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be 1-32 characters: lowercase letters, digits, '-', '_'")
        return value

    @field_validator("urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not re.match(r"^ldaps?://[^/\s]+/?$", url):
                raise ValueError(f"{url!r} is not an ldap://host[:port] or ldaps://host[:port] URL")
        return urls

    @model_validator(mode="before")
    @classmethod
    def _attribute_defaults(cls, data: Any) -> Any:
        # [directory.sources.attributes] names only what differs from the kind's defaults.
        if not (isinstance(data, dict) and isinstance(data.get("attributes"), dict)):
            return data
        try:
            defaults = AttributeMapping.for_kind(DirectoryKind(data.get("kind", DirectoryKind.OPENLDAP)))
        except ValueError:
            return data  # an unknown kind: reported by the field's own validation
        return {**data, "attributes": {**defaults.model_dump(), **data["attributes"]}}

    @model_validator(mode="after")
    def _defaults_and_filters(self) -> DirectorySource:
        user_filter, group_filter = _DEFAULT_FILTERS[self.kind]
        if not self.user_filter:
            object.__setattr__(self, "user_filter", user_filter)
        if not self.group_filter:
            object.__setattr__(self, "group_filter", group_filter)
        if self.attributes is None:
            object.__setattr__(self, "attributes", AttributeMapping.for_kind(self.kind))
        check_filter(self.user_filter, f"directory source {self.name}: user_filter")
        check_filter(self.group_filter, f"directory source {self.name}: group_filter")
        if self.disabled_filter:
            check_filter(self.disabled_filter, f"directory source {self.name}: disabled_filter")
        if self.start_tls and any(u.startswith("ldaps://") for u in self.urls):
            raise ValueError(f"directory source {self.name}: start_tls and ldaps:// URLs exclude each other")
        return self

    @property
    def mapping(self) -> AttributeMapping:
        assert self.attributes is not None
        return self.attributes

    @property
    def incremental_mode(self) -> IncrementalMode:
        if self.incremental is IncrementalMode.AUTO:
            return IncrementalMode.USN if self.kind is DirectoryKind.AD else IncrementalMode.SYNCREPL
        return self.incremental

    def bind_password(self) -> str:
        if self.bind_password_file is None:
            return ""
        try:
            return self.bind_password_file.read_text().strip()
        except OSError as e:
            raise ValueError(f"directory source {self.name}: cannot read bind_password_file: {e}") from e


class DirectoryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[DirectorySource] = Field(default_factory=list)
    # Keep every source current while the base role runs (RFC 4533 / uSNChanged / DirSync).
    watch: bool = True
    # What local (non-directory) users may see.
    local_access: AccessLevel = AccessLevel.EVERYONE
    # A user counts as online this long after his last request.
    presence_ttl_s: float = Field(default=90.0, gt=0)
    # A call from the address book rings this long; then its caller sees "X did not answer".
    ring_s: float = Field(default=30.0, gt=0, le=300)

    @field_validator("sources")
    @classmethod
    def _unique(cls, sources: list[DirectorySource]) -> list[DirectorySource]:
        names = [s.name for s in sources]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"directory source names must be unique: {', '.join(duplicated)}")
        return sources

    def source(self, name: str) -> DirectorySource:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise KeyError(f"No directory source named {name!r} (known: {known}).")
