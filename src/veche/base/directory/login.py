"""Directory logins: the password is checked by an LDAP bind as the person, never stored.

A person not yet synced is looked up in every source and added on his first login; a person the directory
no longer has, or has disabled, cannot log in (and is disabled in Veche too).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from veche.base.auth import DirectoryAuthenticator
from veche.base.directory.server import AccountDisabled, DirectoryServer, InvalidCredentials
from veche.domain.clock import Clock
from veche.domain.directory import DirectoryPerson, access_mask
from veche.domain.errors import AuthenticationFailed
from veche.domain.model import User
from veche.storage.directory import DirectoryStore
from veche.storage.directory_groups import GroupRules
from veche.storage.users import UserStore

__all__ = ["DirectoryLogin"]

logger = logging.getLogger(__name__)


class DirectoryLogin(DirectoryAuthenticator):
    def __init__(
        self,
        servers: Mapping[str, DirectoryServer],
        rules: Mapping[str, GroupRules],
        store: DirectoryStore,
        users: UserStore,
        clock: Clock,
    ) -> None:
        self._servers = servers
        self._rules = rules
        self._store = store
        self._users = users
        self._clock = clock

    async def authenticate(self, login: str, password: str, known: User | None) -> User | None:
        if not password:
            return None
        person, server = await self._locate(login, known)
        if person is None or server is None:
            return None
        try:
            await server.verify_password(person.dn, password)
        except InvalidCredentials:
            return None
        except AccountDisabled as e:
            await self._save(replace(person, disabled=True))
            raise AuthenticationFailed("This account is disabled.") from e
        user = await self._save(person)
        if user is None:
            raise AuthenticationFailed(f"The login “{login}” belongs to another Veche user; ask an administrator.")
        if person.disabled:
            raise AuthenticationFailed("This account is disabled.")
        return user

    async def _locate(self, login: str, known: User | None) -> tuple[DirectoryPerson | None, DirectoryServer | None]:
        """The person as the directory has him now, from the source that owns him."""
        if known is not None:
            ref = await self._store.person_ref(known.id)
            if ref is None or ref[0] not in self._servers:
                return None, None
            server = self._servers[ref[0]]
            person = await server.read_person(ref[1])
            if person is None:
                # Gone from the directory (deleted, moved out of scope): he cannot log in.
                person = await server.find_person(login)
                if person is None:
                    external_id = await self._store.external_id_of(known.id)
                    if external_id:
                        await self._store.disable_people(ref[0], [external_id])
                    return None, None
            return person, server
        for server in self._servers.values():
            person = await server.find_person(login)
            if person is not None:
                return person, server
        return None, None

    async def _save(self, person: DirectoryPerson) -> User | None:
        rules = self._rules.get(person.source, GroupRules())
        counts, touched = await self._store.upsert_people(
            [person], default_access=access_mask([rules.default_access]), now=self._clock()
        )
        if touched:
            await self._store.resolve(person.source, rules, user_ids=touched)
        user_id = await self._store.user_id_for(person.source, person.external_id)
        if user_id is None or counts.conflicts:
            return None
        return await self._users.get(user_id)
