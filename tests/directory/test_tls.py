"""LDAPS and StartTLS against a real slapd with a certificate from a throwaway CA.

The server refuses simple binds without TLS, so a sync or a login that works over ``ldap://`` with StartTLS
really ran over TLS. Errors name the URL and the certificate check; the bind password is never in them.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.directory.base_role import base_container, users_by_login
from tests.directory.certificates import CertificateAuthority
from tests.directory.conftest import BULK, PEOPLE, seed
from tests.directory.slapd import ADMIN_PASSWORD, Person, Slapd, running_slapd
from veche.base.directory.server import DirectoryUnavailable
from veche.config.directory import DirectorySource
from veche.domain.errors import AuthenticationFailed

Make = Callable[..., DirectorySource]
SECRETS = (ADMIN_PASSWORD, "ivanov-pass")


@pytest.fixture(scope="module")
def tls_slapd() -> Iterator[Slapd]:
    with running_slapd(seed(), tls=True) as server:
        yield server


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    """A CA that did not sign the server's certificate."""
    return CertificateAuthority.create(tmp_path_factory.mktemp("other-ca"), "other")


def _tls_source(make_source: Make, server: Slapd, mode: str, **overrides: Any) -> DirectorySource:
    if mode == "ldaps":
        return make_source(server.ldaps_url, **overrides)
    return make_source(server.url, start_tls=True, **overrides)


def _no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


MODES = pytest.mark.parametrize("mode", ["ldaps", "start_tls"])


@MODES
async def test_full_sync_and_login_over_tls(
    mode: str, tmp_path: Path, tls_slapd: Slapd, make_source: Make, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    source = _tls_source(make_source, tls_slapd, mode, ca_file=tls_slapd.ca_file)
    container = await base_container(tmp_path, source)
    try:
        [summary] = await container.get_directory_sync().sync()
        assert summary.url == source.urls[0]
        assert (summary.people.added, summary.groups) == (len(PEOPLE) + len(BULK), 8)
        users = await users_by_login(container)
        assert users["olga"].is_admin and users["blocked"].disabled
        auth = container.get_auth()
        assert (await auth.login("ivanov", "ivanov-pass", client="a", kind="api")).user.login == "ivanov"
        with pytest.raises(AuthenticationFailed, match="Wrong login or password"):
            await auth.login("ivanov", "wrong-pass", client="b", kind="api")
        _no_secrets(caplog.text)
    finally:
        await container.get_database().close()


async def test_this_server_refuses_binds_without_tls(tmp_path: Path, tls_slapd: Slapd, make_source: Make) -> None:
    """What makes the StartTLS test above meaningful."""
    container = await base_container(tmp_path, make_source(tls_slapd.url))
    try:
        with pytest.raises(DirectoryUnavailable, match=f"{tls_slapd.url}: confidentialityRequired"):
            await container.get_directory_sync().sync()
    finally:
        await container.get_database().close()


@MODES
async def test_wrong_ca_is_a_clear_error_and_changes_nothing(
    mode: str,
    tmp_path: Path,
    tls_slapd: Slapd,
    other_ca: CertificateAuthority,
    make_source: Make,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    good = await base_container(tmp_path, _tls_source(make_source, tls_slapd, mode, ca_file=tls_slapd.ca_file))
    try:
        await good.get_directory_sync().sync()
        before = await good.get_directory_store().counts("corp")
    finally:
        await good.get_database().close()

    wrong = _tls_source(make_source, tls_slapd, mode, ca_file=other_ca.cert_file)
    container = await base_container(tmp_path, wrong)  # the same database
    try:
        expected = (
            f"corp: no server answered \\({wrong.urls[0]}: TLS certificate verification failed: "
            f".+ \\(checked against ca_file {other_ca.cert_file}\\)\\)"
        )
        with pytest.raises(DirectoryUnavailable, match=expected) as synced:
            await container.get_directory_sync().sync()
        with pytest.raises(DirectoryUnavailable, match="TLS certificate verification failed") as logged_in:
            await container.get_auth().login("ivanov", "ivanov-pass", client="a", kind="api")
        assert await container.get_directory_store().counts("corp") == before
        assert [u.login for u in (await users_by_login(container)).values() if u.disabled] == ["blocked"]
        _no_secrets(caplog.text, str(synced.value), str(logged_in.value))
    finally:
        await container.get_database().close()


@MODES
async def test_tls_verify_false_accepts_a_certificate_of_any_ca(
    mode: str, tmp_path: Path, tls_slapd: Slapd, other_ca: CertificateAuthority, make_source: Make
) -> None:
    source = _tls_source(make_source, tls_slapd, mode, ca_file=other_ca.cert_file, tls_verify=False)
    container = await base_container(tmp_path, source)
    try:
        [summary] = await container.get_directory_sync().sync()
        assert summary.people.added == len(PEOPLE) + len(BULK)
        assert (await container.get_auth().login("smith", "smith-pass", client="a", kind="api")).user
    finally:
        await container.get_database().close()


async def test_certificate_for_another_host_name_is_refused(
    tmp_path: Path, tls_slapd: Slapd, make_source: Make
) -> None:
    if "127.0.0.1" not in {a[4][0] for a in socket.getaddrinfo("localhost", None)}:
        pytest.skip("localhost does not resolve to 127.0.0.1")
    url = tls_slapd.ldaps_url.replace("127.0.0.1", "localhost")  # the certificate names 127.0.0.1 only
    container = await base_container(tmp_path, make_source(url, ca_file=tls_slapd.ca_file))
    try:
        with pytest.raises(DirectoryUnavailable, match=f"{url}: TLS certificate verification failed: .*host name"):
            await container.get_directory_sync().sync()
        assert await users_by_login(container) == {}
    finally:
        await container.get_database().close()


async def test_missing_ca_file_is_named(tmp_path: Path, tls_slapd: Slapd, make_source: Make) -> None:
    missing = tmp_path / "no-such-ca.pem"
    container = await base_container(tmp_path, make_source(tls_slapd.ldaps_url, ca_file=missing))
    try:
        with pytest.raises(DirectoryUnavailable, match=f"ca_file {missing} does not exist"):
            await container.get_directory_sync().sync()
    finally:
        await container.get_database().close()


async def test_start_tls_against_a_server_without_tls(tmp_path: Path, slapd: Slapd, make_source: Make) -> None:
    container = await base_container(tmp_path, make_source(slapd.url, start_tls=True))
    try:
        with pytest.raises(DirectoryUnavailable, match=f"{slapd.url}: TLS failed: the server refused StartTLS"):
            await container.get_directory_sync().sync()
    finally:
        await container.get_database().close()


@MODES
async def test_changes_arrive_over_tls(mode: str, tmp_path: Path, tls_slapd: Slapd, make_source: Make) -> None:
    """The watcher's connections (ldap3's asynchronous strategy) use TLS as well."""
    source = _tls_source(make_source, tls_slapd, mode, ca_file=tls_slapd.ca_file)
    container = await base_container(tmp_path, source, watch=True)
    sync = container.get_directory_sync()
    sync.start()
    newcomer = Person(f"tls-{mode}", "Тимур", "Шифров", "t-pass", f"{mode}@veche.test")
    try:
        await asyncio.wait_for(sync.watchers["corp"].connected.wait(), 30)
        tls_slapd.add_person(newcomer)
        deadline = asyncio.get_running_loop().time() + 10
        while newcomer.uid not in await users_by_login(container):
            assert asyncio.get_running_loop().time() < deadline, "the change did not arrive within 10 s"
            await asyncio.sleep(0.05)
    finally:
        await sync.stop()
        await container.get_database().close()
        tls_slapd.delete(newcomer.dn)
