"""The directory edge: what Veche asks of one LDAP / AD source, whatever speaks to it (ldap3, or memory in tests)."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass

from veche.config.directory import DirectorySource
from veche.domain.directory import DirectoryGroup, DirectoryPerson
from veche.domain.errors import DomainError

__all__ = [
    "AccountDisabled",
    "DirectoryBindRejected",
    "DirectoryChange",
    "DirectoryError",
    "DirectoryQueryRejected",
    "DirectoryServer",
    "DirectoryUnavailable",
    "EntriesDeleted",
    "EntriesPresent",
    "EntryChanged",
    "InvalidCredentials",
    "NewCookie",
    "RefreshDone",
    "RefreshRequired",
]


class DirectoryError(DomainError):
    """A directory source cannot be used; the message names the source and says what to check."""

    code = "directory_error"


class DirectoryUnavailable(DirectoryError):
    """No server of the source answered (every URL tried)."""

    code = "directory_unavailable"


class DirectoryBindRejected(DirectoryError):
    """The source's service account (bind DN / password file) was refused."""

    code = "directory_bind_rejected"


class DirectoryQueryRejected(DirectoryError):
    """The server refused a search: a filter it does not accept, a base DN that does not exist, no rights."""

    code = "directory_query_rejected"


class InvalidCredentials(Exception):
    """A person's password (bind) was refused, or he does not exist in the directory."""


class AccountDisabled(Exception):
    """The person exists and may be known, but his directory account is disabled or locked."""


# -- incremental changes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryChanged:
    person: DirectoryPerson | None = None
    group: DirectoryGroup | None = None
    cookie: bytes | None = None


@dataclass(frozen=True)
class EntriesDeleted:
    external_ids: tuple[str, ...]
    cookie: bytes | None = None


@dataclass(frozen=True)
class EntriesPresent:
    """Part of a refresh's present phase: these entries still exist (unchanged)."""

    external_ids: tuple[str, ...]


@dataclass(frozen=True)
class RefreshDone:
    """The catch-up part is over; after a present phase, entries not reported present were deleted."""

    cookie: bytes | None
    present_phase: bool


@dataclass(frozen=True)
class NewCookie:
    cookie: bytes


@dataclass(frozen=True)
class RefreshRequired:
    """The server cannot continue from our cookie (e.g. e-syncRefreshRequired): a full sync is needed."""


DirectoryChange = EntryChanged | EntriesDeleted | EntriesPresent | RefreshDone | NewCookie | RefreshRequired


class DirectoryServer(abc.ABC):
    """One source. Implementations fail over between the source's URLs themselves."""

    def __init__(self, source: DirectorySource) -> None:
        self.source = source

    @abc.abstractmethod
    async def check(self) -> str:
        """Connect and bind with the service account; return the URL that answered."""

    @abc.abstractmethod
    def people(self) -> AsyncIterator[list[DirectoryPerson]]:
        """Every person matching the user filter, a page at a time."""

    @abc.abstractmethod
    def groups(self) -> AsyncIterator[list[DirectoryGroup]]:
        """Every group matching the group filter, a page at a time, with direct members."""

    @abc.abstractmethod
    async def find_person(self, login: str) -> DirectoryPerson | None:
        """The person whose login attribute equals ``login`` (case-insensitive), if any."""

    @abc.abstractmethod
    async def read_person(self, dn: str) -> DirectoryPerson | None:
        """The person at ``dn`` now, or None if he is gone or no longer matches the user filter."""

    @abc.abstractmethod
    async def verify_password(self, dn: str, password: str) -> None:
        """Bind as ``dn``; raise :class:`InvalidCredentials` or :class:`AccountDisabled` if refused."""

    @abc.abstractmethod
    async def change_cookie(self) -> bytes | None:
        """A cookie meaning "now", taken before a full pass, from which changes can be followed afterwards."""

    @abc.abstractmethod
    def changes(self, cookie: bytes | None) -> AsyncIterator[DirectoryChange]:
        """Changes after ``cookie``, as they happen; ends (raising) when the connection is lost."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
