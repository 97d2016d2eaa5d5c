"""Against real slapd: full sync, login by bind, disabled and deleted accounts, groups, failover, bad input."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.directory.base_role import base_container, users_by_login
from tests.directory.conftest import BULK, PEOPLE
from tests.directory.slapd import BASE_DN, Person, Slapd
from veche.base.directory.server import DirectoryBindRejected, DirectoryQueryRejected, DirectoryUnavailable
from veche.config.directory import DirectorySource
from veche.container import Container
from veche.domain.errors import AuthenticationFailed

Make = Callable[..., DirectorySource]


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"ldap://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
async def corp(tmp_path: Path, slapd: Slapd, make_source: Make) -> AsyncIterator[Container]:
    container = await base_container(tmp_path, make_source(slapd.url))
    try:
        yield container
    finally:
        await container.get_directory_sync().stop()
        await container.get_database().close()


async def test_full_sync_people_groups_roles(corp: Container) -> None:
    [summary] = await corp.get_directory_sync().sync()
    assert summary.people.added == len(PEOPLE) + len(BULK)
    assert summary.groups == 8
    users = await users_by_login(corp)
    assert users["ivanov"].display_name == "Иван Иванов"
    assert users["ivanov"].password_hash is None  # directory passwords are never stored
    assert users["blocked"].disabled and not users["ivanov"].disabled
    assert users["olga"].is_admin  # it-admins is inside veche-admins, mapped to the admin role
    assert not users["ivanov"].is_admin
    store = corp.get_directory_store()
    assert await store.groups_of(users["ivanov"].id) == ["backend", "engineering", "staff"]
    assert await store.groups_of(users["smith"].id) == ["sales", "staff"]

    again = (await corp.get_directory_sync().sync())[0]
    assert (again.people.added, again.people.updated, again.disabled) == (0, 0, 0)
    assert again.people.unchanged == len(PEOPLE) + len(BULK)


async def test_full_sync_on_postgresql(database: Any, tmp_path: Path, slapd: Slapd, make_source: Make) -> None:
    from veche.base.directory.ldap.server import LdapDirectoryServer
    from veche.base.directory.sync_service import DirectorySync
    from veche.config.directory import DirectoryConfig
    from veche.domain.clock import utc_now
    from veche.storage.directory import DirectoryStore

    source = make_source(slapd.url)
    sync = DirectorySync(
        DirectoryConfig(sources=[source]),
        {"corp": LdapDirectoryServer(source)},
        DirectoryStore(database.sessions),
        utc_now,
    )
    [summary] = await sync.sync()
    assert summary.people.added == len(PEOPLE) + len(BULK)
    assert await DirectoryStore(database.sessions).counts("corp") == {
        "people": len(PEOPLE) + len(BULK),
        "disabled": 1,
        "groups": 8,
    }


async def test_login_by_bind(corp: Container) -> None:
    auth = corp.get_auth()
    # Not synced yet: the first login finds him in the directory and adds him.
    result = await auth.login("Ivanov", "ivanov-pass", client="t1", kind="api")
    assert result.user.login == "ivanov" and result.user.display_name == "Иван Иванов"
    assert await auth.authenticate(result.token) == result.user
    with pytest.raises(AuthenticationFailed, match="Wrong login or password"):
        await auth.login("ivanov", "wrong-pass", client="t2", kind="api")
    with pytest.raises(AuthenticationFailed, match="Wrong login or password"):
        await auth.login("ivanov", "", client="t3", kind="api")  # an empty password is an anonymous bind
    with pytest.raises(AuthenticationFailed, match="Wrong login or password"):
        await auth.login("nobody-here", "whatever", client="t4", kind="api")
    with pytest.raises(AuthenticationFailed, match="disabled"):
        await auth.login("blocked", "blocked-pass", client="t5", kind="api")
    # Groups come with a sync; then group roles apply at login.
    assert not (await auth.login("olga", "olga-pass", client="t6", kind="api")).user.is_admin
    await corp.get_directory_sync().sync()
    assert (await auth.login("olga", "olga-pass", client="t7", kind="api")).user.is_admin


async def test_local_users_still_log_in_with_their_password(corp: Container) -> None:
    auth = corp.get_auth()
    await auth.create_user(login="local", display_name="Local", email="", password="local-password", is_admin=False)
    assert (await auth.login("local", "local-password", client="c", kind="api")).user.login == "local"


async def test_deleted_and_disabled_later_cannot_log_in(corp: Container, slapd: Slapd) -> None:
    gone = Person("leaver", "Лев", "Уходящий", "leaver-pass", "leaver@veche.test")
    slapd.add_person(gone)
    auth = corp.get_auth()
    await auth.login("leaver", "leaver-pass", client="a", kind="api")
    slapd.modify(gone.dn, {"employeeType": ("add", ["disabled"])})
    with pytest.raises(AuthenticationFailed, match="disabled"):
        await auth.login("leaver", "leaver-pass", client="b", kind="api")
    slapd.delete(gone.dn)
    with pytest.raises(AuthenticationFailed):
        await auth.login("leaver", "leaver-pass", client="c", kind="api")
    [summary] = await corp.get_directory_sync().sync()
    assert (await users_by_login(corp))["leaver"].disabled  # kept (his history stays), but disabled


async def _eventually(check: Callable[[], Any], timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout_s:.0f} s")
        await asyncio.sleep(0.05)


async def test_changes_arrive_within_seconds(tmp_path: Path, slapd: Slapd, make_source: Make) -> None:
    container = await base_container(tmp_path, make_source(slapd.url), watch=True)
    sync = container.get_directory_sync()
    sync.start()
    try:
        watcher = sync.watchers["corp"]
        await asyncio.wait_for(watcher.connected.wait(), 30)  # after the first full sync
        newcomer = Person("newcomer", "Нина", "Новенькая", "nina-pass", "nina@veche.test", "", "Разработка")
        slapd.add_person(newcomer)

        async def added() -> bool:
            return "newcomer" in await users_by_login(container)

        await _eventually(added)
        slapd.modify(newcomer.dn, {"cn": ("replace", ["Нина Изменённая"])})

        async def renamed() -> bool:
            return (await users_by_login(container))["newcomer"].display_name == "Нина Изменённая"

        await _eventually(renamed)
        group = f"cn=backend,ou=groups,{BASE_DN}"
        slapd.modify(group, {"member": ("add", [newcomer.dn])})

        async def grouped() -> bool:
            user = (await users_by_login(container))["newcomer"]
            return "engineering" in await container.get_directory_store().groups_of(user.id)

        await _eventually(grouped)
        slapd.modify(group, {"member": ("delete", [newcomer.dn])})
        slapd.delete(newcomer.dn)

        async def disabled() -> bool:
            return (await users_by_login(container))["newcomer"].disabled

        await _eventually(disabled)
    finally:
        await sync.stop()
        await container.get_database().close()


async def test_failover_to_the_second_server(
    tmp_path: Path, slapd: Slapd, slapd_replica: Slapd, make_source: Make
) -> None:
    container = await base_container(tmp_path, make_source(slapd.url, slapd_replica.url))
    try:
        [first] = await container.get_directory_sync().sync()
        assert first.url == slapd.url
        slapd.pause()
        try:
            [second] = await container.get_directory_sync().sync()
            assert second.url == slapd_replica.url
            assert (second.people.added, second.disabled) == (0, 0)  # same people (same entryUUIDs)
            assert (await container.get_auth().login("petrova", "petrova-pass", client="x", kind="api")).user
        finally:
            slapd.start()
    finally:
        await container.get_database().close()


async def test_watcher_fails_over_when_the_first_server_stops(
    tmp_path: Path, slapd: Slapd, slapd_replica: Slapd, make_source: Make
) -> None:
    container = await base_container(tmp_path, make_source(slapd.url, slapd_replica.url), watch=True)
    sync = container.get_directory_sync()
    sync.start()
    try:
        watcher = sync.watchers["corp"]
        await asyncio.wait_for(watcher.connected.wait(), 30)
        slapd.pause()
        try:
            moved = Person("failover", "Фёдор", "Запасной", "f-pass", "f@veche.test")
            slapd_replica.add_person(moved)

            async def arrived() -> bool:
                return "failover" in await users_by_login(container)

            await _eventually(arrived, 15)
        finally:
            slapd.start()
    finally:
        await sync.stop()
        await container.get_database().close()


async def test_unreachable_server_is_a_clear_error_and_writes_nothing(tmp_path: Path, make_source: Make) -> None:
    dead = _closed_port_url()
    container = await base_container(tmp_path, make_source(dead))
    try:
        with pytest.raises(DirectoryUnavailable, match=f"corp: no server answered.*{dead}"):
            await container.get_directory_sync().sync()
        assert await users_by_login(container) == {}
        assert await container.get_directory_store().state("corp") is None
    finally:
        await container.get_database().close()


async def test_wrong_bind_credentials(tmp_path: Path, slapd: Slapd, make_source: Make) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password")
    container = await base_container(tmp_path, make_source(slapd.url, bind_password_file=wrong))
    try:
        with pytest.raises(DirectoryBindRejected, match="refused the bind as 'cn=admin"):
            await container.get_directory_sync().sync()
        assert await users_by_login(container) == {}
    finally:
        await container.get_database().close()


def test_malformed_filter_is_refused_when_the_configuration_loads(make_source: Make) -> None:
    with pytest.raises(ValueError, match="user_filter is not a valid LDAP filter"):
        make_source("ldap://127.0.0.1:1", user_filter="(&(uid=*)")


async def test_a_failing_sync_disables_nobody(tmp_path: Path, slapd: Slapd, make_source: Make) -> None:
    good = make_source(slapd.url)
    container = await base_container(tmp_path, good)
    try:
        await container.get_directory_sync().sync()
        # The same source pointed at a base that does not exist: the server refuses; nobody is disabled.
        broken = await base_container(tmp_path, make_source(slapd.url, user_base_dns=[f"ou=missing,{BASE_DN}"]))
        try:
            with pytest.raises(DirectoryQueryRejected, match="refused the request"):
                await broken.get_directory_sync().sync()
            users = await users_by_login(broken)
            assert sum(u.disabled for u in users.values()) == 1  # only the one disabled in the directory
        finally:
            await broken.get_database().close()
    finally:
        await container.get_database().close()


def test_cli_sync_prints_progress_and_summary(
    tmp_path: Path, slapd: Slapd, make_source: Make, capsys: pytest.CaptureFixture[str]
) -> None:
    from veche.cli import main

    config = tmp_path / "veche.toml"
    source = make_source(slapd.url)
    config.write_text(
        f"""
[[directory.sources]]
name = "corp"
urls = ["{slapd.url}"]
bind_dn = "{source.bind_dn}"
bind_password_file = "{source.bind_password_file}"
user_base_dns = ["ou=people,{BASE_DN}"]
group_base_dns = ["ou=groups,{BASE_DN}"]
disabled_filter = "(employeeType=disabled)"
"""
    )
    assert main(["directory", "sync", "--config", str(config), "--data-dir", str(tmp_path / "data")]) == 0
    out, err = capsys.readouterr()
    assert f"corp: {len(PEOPLE) + len(BULK)} people ({len(PEOPLE) + len(BULK)} added" in out
    assert "8 groups" in out and "corp: people" in err
    config.write_text(config.read_text().replace(slapd.url, _closed_port_url()))
    assert main(["directory", "sync", "--config", str(config), "--data-dir", str(tmp_path / "data")]) == 1
    _, err = capsys.readouterr()
    assert "no server answered" in err and "Nothing was disabled" in err
    assert main(["directory", "sync", "--source", "nope", "--config", str(config), "--data-dir", str(tmp_path)]) == 2
