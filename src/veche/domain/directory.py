"""The directory's pure rules: people and groups as synced, search keys, nested groups, roles and visibility.

No I/O: the LDAP edge turns entries into these values, the stores persist them, and these functions decide.
"""

from __future__ import annotations

import enum
import hashlib
import re
import uuid
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

__all__ = [
    "AD_ACCOUNTDISABLE",
    "AccessLevel",
    "DirectoryGroup",
    "DirectoryPerson",
    "Presence",
    "Visibility",
    "access_mask",
    "ad_account_disabled",
    "ad_guid",
    "group_ancestors",
    "is_admin_by_groups",
    "join_keys",
    "normalize_dn",
    "phone_digits",
    "search_key",
    "search_text",
]

AD_ACCOUNTDISABLE = 0x2  # userAccountControl flag of a disabled Active Directory account


class AccessLevel(enum.StrEnum):
    """What a person may see in the address book; set per group (the union of a person's groups applies)."""

    EVERYONE = "everyone"
    OWN_DEPARTMENT = "own_department"
    OWN_GROUPS = "own_groups"
    SELF = "self"  # nobody but himself


_MASK = {AccessLevel.EVERYONE: 4, AccessLevel.OWN_DEPARTMENT: 2, AccessLevel.OWN_GROUPS: 1, AccessLevel.SELF: 0}


def access_mask(levels: Iterable[AccessLevel]) -> int:
    """Levels as a bit mask stored with each person (4 everyone, 2 own department, 1 own groups)."""
    mask = 0
    for level in levels:
        mask |= _MASK[level]
    return mask


@dataclass(frozen=True)
class Visibility:
    """What one viewer may see: everyone, or people sharing his department or one of his groups."""

    viewer_id: int
    everyone: bool
    department: str | None = None  # search key of his department when own_department applies
    group_ids: frozenset[int] = frozenset()  # his groups when own_groups applies

    @classmethod
    def of(cls, viewer_id: int, mask: int, *, is_admin: bool, department: str, group_ids: Iterable[int]) -> Visibility:
        if is_admin or mask & 4:
            return cls(viewer_id, True)
        return cls(
            viewer_id,
            False,
            department=search_key(department) if mask & 2 and department.strip() else None,
            group_ids=frozenset(group_ids) if mask & 1 else frozenset(),
        )


class Presence(enum.StrEnum):
    OFFLINE = "offline"
    ONLINE = "online"
    IN_CONFERENCE = "in_conference"


@dataclass(frozen=True)
class DirectoryPerson:
    """A person as read from a directory source, mapped to Veche's fields. ``dn`` is normalized."""

    source: str
    external_id: str
    dn: str
    login: str
    display_name: str
    email: str = ""
    phone: str = ""
    department: str = ""
    title: str = ""
    disabled: bool = False

    def fingerprint(self) -> str:
        """Changes when any synced field changes; unchanged people are not rewritten."""
        fields = (self.dn, self.login, self.display_name, self.email, self.phone, self.department, self.title)
        raw = "\x1f".join(fields) + ("\x1f1" if self.disabled else "\x1f0")
        return hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()


@dataclass(frozen=True)
class DirectoryGroup:
    """A group with the normalized DNs of its direct members (people and other groups)."""

    source: str
    external_id: str
    dn: str
    name: str
    members: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        """Changes when the group's DN, name or set of direct members changes; unchanged groups are not rewritten."""
        digest = hashlib.blake2b(digest_size=12)
        for part in (self.dn, self.name, *sorted(set(self.members))):
            digest.update(part.encode())
            digest.update(b"\x1f")
        return digest.hexdigest()


_DN_SPACES = re.compile(r"\s*([,=+])\s*")


def normalize_dn(dn: str) -> str:
    """DNs compare case-insensitively and ignore spaces around separators (``CN=A, OU=B`` == ``cn=a,ou=b``)."""
    if " " not in dn:
        return dn.lower()
    return _DN_SPACES.sub(r"\1", dn.strip()).lower()


def search_key(text: str) -> str:
    """Case-folded, ё as е, single spaces: what people type is compared with this."""
    return " ".join(text.casefold().replace("ё", "е").split())


def phone_digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def search_text(login: str, display_name: str, email: str, phone: str = "", department: str = "") -> str:
    """One searchable string per person; substring search runs on it (trigram-indexed on PostgreSQL)."""
    return join_keys(search_key(login), search_key(display_name), search_key(email), phone, search_key(department))


def join_keys(login: str, name: str, email: str, phone: str, department: str) -> str:
    """:func:`search_text` from keys already folded (the sync computes them once per person).

    Only what people search by (not the title): every trigram costs index upkeep on a million rows. Phones by digits.
    """
    parts = (login, name, email, phone_digits(phone), department)
    return "\x1f".join(p for p in parts if p)


K = TypeVar("K", bound=Hashable)


def group_ancestors(parents: Mapping[K, Iterable[K]]) -> dict[K, frozenset[K]]:
    """Every group's transitive parents, itself included. ``parents`` maps a group to the groups listing it.

    Cycles (A in B, B in A) are allowed: each group then belongs to all groups of the cycle.
    """
    result: dict[K, frozenset[K]] = {}
    for start in parents:
        seen = {start}
        stack = [start]
        while stack:
            for parent in parents.get(stack.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        result[start] = frozenset(seen)
    return result


def is_admin_by_groups(group_dns: Iterable[str], group_names: Iterable[str], admin_groups: Iterable[str]) -> bool:
    """A person is an administrator when one of his (transitive) groups is mapped to the admin role.

    ``admin_groups`` may name a group by its DN or by its name; both compare case-insensitively.
    """
    wanted = {normalize_dn(g) for g in admin_groups} | {search_key(g) for g in admin_groups}
    return any(normalize_dn(d) in wanted for d in group_dns) or any(search_key(n) in wanted for n in group_names)


def ad_account_disabled(user_account_control: int | str | None) -> bool:
    if user_account_control in (None, ""):
        return False
    return bool(int(user_account_control) & AD_ACCOUNTDISABLE)  # type: ignore[arg-type]


def ad_guid(raw: bytes | str) -> str:
    """Active Directory's objectGUID (16 bytes, little-endian fields) in the usual text form."""
    if isinstance(raw, str):
        return str(uuid.UUID(raw.strip("{}")))
    return str(uuid.UUID(bytes_le=bytes(raw)))
