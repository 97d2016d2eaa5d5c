"""A throwaway OpenLDAP ``slapd`` for tests and benchmarks, and a generator of people and groups.

``slapd -d 0 -h ldap://127.0.0.1:PORT/ -f DIR/slapd.conf`` with an mdb database, the syncprov overlay (RFC 4533
content sync, with a session log so deletions are reported by UUID) and seeding with ``slapadd -q``.
Never the machine's own service; every instance lives in its own temporary directory. Online changes go
through ldap3 (no ldap-utils needed). ``Slapd.create(..., tls=True)`` also listens on ldaps:// with a server
certificate of a throwaway CA (``ca_file``), and then refuses simple binds without TLS, so a test can tell that
StartTLS really happened.
"""

from __future__ import annotations

import base64
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import ldap3

from tests.directory.certificates import CertificateAuthority, OpensslUnavailable, ServerCertificate

__all__ = [
    "ADMIN_DN",
    "ADMIN_PASSWORD",
    "BASE_DN",
    "Person",
    "Slapd",
    "SlapdUnavailable",
    "chunks",
    "entry_uuid",
    "group_ldif",
    "ldif_entries",
    "person_ldif",
    "posix_group_ldif",
]

BASE_DN = "dc=veche,dc=test"
ADMIN_DN = f"cn=admin,{BASE_DN}"
ADMIN_PASSWORD = "admin-secret"
SCHEMAS = ("core", "cosine", "nis", "inetorgperson")


class SlapdUnavailable(Exception):
    """slapd or slapadd is not installed; the message says what to install."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tls_config(ca: CertificateAuthority, server: ServerCertificate) -> str:
    # Simple binds need a security layer (TLS on 127.0.0.1; a plain TCP connection has strength 0).
    return f"""TLSCACertificateFile {ca.cert_file}
TLSCertificateFile {server.cert_file}
TLSCertificateKeyFile {server.key_file}
security simple_bind=1
"""


def _config(root: Path, tls: str = "") -> str:
    includes = "\n".join(f"include /etc/ldap/schema/{s}.schema" for s in SCHEMAS)
    return f"""{includes}
{tls}modulepath /usr/lib/ldap
moduleload back_mdb
moduleload syncprov
pidfile {root}/slapd.pid
argsfile {root}/slapd.args
sizelimit 500
database mdb
maxsize 8589934592
suffix "{BASE_DN}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PASSWORD}
directory {root}/db
dbnosync
index objectClass eq
index uid,member,entryUUID,entryCSN eq
limits users size.prtotal=unlimited size.pr=unlimited
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
overlay syncprov
syncprov-checkpoint 100 1
syncprov-sessionlog 100000
"""


@dataclass
class Person:
    uid: str
    given: str
    surname: str
    password: str = ""
    mail: str = ""
    phone: str = ""
    department: str = ""
    title: str = ""
    disabled: bool = False
    ou: str = "people"

    @property
    def cn(self) -> str:
        return f"{self.given} {self.surname}"

    @property
    def dn(self) -> str:
        return f"uid={self.uid},ou={self.ou},{BASE_DN}"


def _line(name: str, value: str) -> str:
    if value.isascii() and not value.startswith((" ", ":", "<")) and value == value.strip():
        return f"{name}: {value}\n"
    return f"{name}:: {base64.b64encode(value.encode()).decode()}\n"


def entry_uuid(dn: str) -> str:
    """The same entryUUID for the same DN on every server seeded from the same data (like replicas)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "ldap:" + dn.lower()))


def person_ldif(p: Person) -> str:
    out = f"dn: {p.dn}\nobjectClass: inetOrgPerson\nentryUUID: {entry_uuid(p.dn)}\n"
    out += _line("uid", p.uid) + _line("cn", p.cn) + _line("sn", p.surname) + _line("givenName", p.given)
    for name, value in (
        ("mail", p.mail),
        ("telephoneNumber", p.phone),
        ("departmentNumber", p.department),
        ("title", p.title),
        ("userPassword", p.password),
    ):
        if value:
            out += _line(name, value)
    if p.disabled:
        out += "employeeType: disabled\n"
    return out + "\n"


def group_ldif(cn: str, members: Iterable[str], ou: str = "groups") -> str:
    dn = f"cn={cn},ou={ou},{BASE_DN}"
    out = f"dn: {dn}\nobjectClass: groupOfNames\nentryUUID: {entry_uuid(dn)}\n" + _line("cn", cn)
    listed = list(members) or [f"cn=nobody,{BASE_DN}"]  # groupOfNames needs at least one member
    return out + "".join(_line("member", m) for m in listed) + "\n"


def posix_group_ldif(cn: str, gid: int, logins: Iterable[str], ou: str = "groups") -> str:
    """An RFC 2307 posixGroup: members by login (memberUid), not DN."""
    dn = f"cn={cn},ou={ou},{BASE_DN}"
    out = f"dn: {dn}\nobjectClass: posixGroup\nentryUUID: {entry_uuid(dn)}\n" + _line("cn", cn)
    return out + f"gidNumber: {gid}\n" + "".join(_line("memberUid", login) for login in logins) + "\n"


def ldif_entries(ous: Iterable[str] = ("people", "groups")) -> str:
    """The suffix and organisational units."""
    out = f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: veche\no: Veche test\n\n"
    for ou in ous:
        out += f"dn: ou={ou},{BASE_DN}\nobjectClass: organizationalUnit\nou: {ou}\n\n"
    return out


@dataclass
class Slapd:
    """A running slapd; :meth:`start` seeds and starts it, :meth:`stop` ends it and removes its directory."""

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    stopped: bool = field(default=False)
    tls_port: int | None = None
    ca: CertificateAuthority | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        assert self.tls_port is not None, "started without tls=True"
        return f"ldaps://127.0.0.1:{self.tls_port}"

    @property
    def ca_file(self) -> Path:
        """The CA that signed the server's certificate (for 127.0.0.1)."""
        assert self.ca is not None, "started without tls=True"
        return self.ca.cert_file

    @classmethod
    def create(cls, ldif_chunks: Iterable[str], root: Path | None = None, *, tls: bool = False) -> Slapd:
        """A new database seeded with ``slapadd -q`` from LDIF text chunks (streamed: any size).

        ``tls``: also listen on ldaps:// (another free port), with a certificate from a new CA; simple binds then
        need TLS (ldaps:// or StartTLS).
        """
        for program in ("slapd", "slapadd"):
            if shutil.which(program) is None and not Path(f"/usr/sbin/{program}").exists():
                raise SlapdUnavailable("slapd/slapadd not found: apt-get install slapd ldap-utils")
        root = root or Path(tempfile.mkdtemp(prefix="veche-slapd-"))
        (root / "db").mkdir(parents=True, exist_ok=True)
        try:
            ca = CertificateAuthority.create(root / "tls", "slapd-ca") if tls else None
            tls_config = _tls_config(ca, ca.issue_server(root / "tls", "slapd")) if ca else ""
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        (root / "slapd.conf").write_text(_config(root, tls_config))
        server = cls(root=root, port=_free_port(), tls_port=_free_port() if tls else None, ca=ca)
        slapadd = subprocess.Popen(
            ["/usr/sbin/slapadd", "-q", "-f", str(root / "slapd.conf")],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert slapadd.stdin is not None
        try:
            for chunk in ldif_chunks:
                slapadd.stdin.write(chunk.encode())
            slapadd.stdin.close()
        except BrokenPipeError:
            pass
        err = slapadd.stderr.read().decode(errors="replace") if slapadd.stderr else ""
        if slapadd.wait() != 0:
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError(f"slapadd failed: {err[-2000:]}")
        return server

    def start(self) -> Slapd:
        urls = [f"{self.url}/"] + ([f"{self.ldaps_url}/"] if self.tls_port else [])
        self.process = subprocess.Popen(
            ["/usr/sbin/slapd", "-d", "0", "-h", " ".join(urls), "-f", str(self.root / "slapd.conf")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        for port in [self.port] + ([self.tls_port] if self.tls_port else []):
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if self.process.poll() is not None:
                        raise RuntimeError(f"slapd exited with {self.process.returncode}") from None
                    if time.monotonic() > deadline:
                        raise RuntimeError("slapd did not listen within 10 s") from None
                    time.sleep(0.02)
        return self

    def pause(self) -> None:
        """Stop the process, keep the database (start() again serves the same data on the same port)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stop(self) -> None:
        self.pause()
        shutil.rmtree(self.root, ignore_errors=True)
        self.stopped = True

    def _admin(self) -> ldap3.Connection:
        if self.ca is not None:  # simple binds need TLS on this server
            tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(self.ca_file))
            server = ldap3.Server(self.ldaps_url, get_info=ldap3.NONE, tls=tls)
        else:
            server = ldap3.Server(self.url, get_info=ldap3.NONE)
        return ldap3.Connection(server, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True, raise_exceptions=True)

    def add_person(self, person: Person) -> None:
        """Add a person online (the server assigns his entryUUID)."""
        attributes: dict[str, str | list[str]] = {
            "uid": person.uid,
            "cn": person.cn,
            "sn": person.surname,
            "givenName": person.given,
        }
        for name, value in (("mail", person.mail), ("userPassword", person.password)):
            if value:
                attributes[name] = value
        conn = self._admin()
        try:
            conn.add(person.dn, ["inetOrgPerson"], attributes)
        finally:
            conn.unbind()

    def modify(self, dn: str, changes: dict[str, tuple[str, list[str]]]) -> None:
        """``{"cn": ("replace", ["New name"]), "member": ("add", [dn])}`` as the administrator."""
        kinds = {"replace": ldap3.MODIFY_REPLACE, "add": ldap3.MODIFY_ADD, "delete": ldap3.MODIFY_DELETE}
        conn = self._admin()
        try:
            conn.modify(dn, {name: [(kinds[kind], values)] for name, (kind, values) in changes.items()})
        finally:
            conn.unbind()

    def delete(self, dn: str) -> None:
        conn = self._admin()
        try:
            conn.delete(dn)
        finally:
            conn.unbind()


@contextmanager
def running_slapd(ldif_chunks: Iterable[str], *, tls: bool = False) -> Iterator[Slapd]:
    """For a fixture: a seeded, started slapd, stopped afterwards. Without slapd (or, for TLS, openssl) on this
    machine the tests that use it are skipped, saying why."""
    import pytest  # here, not at the top: bench/directory.py uses this module without pytest

    try:
        server = Slapd.create(ldif_chunks, tls=tls).start()
    except (SlapdUnavailable, OpensslUnavailable) as e:
        pytest.skip(str(e))
    try:
        yield server
    finally:
        server.stop()


def chunks(items: Iterable[str], size: int = 1000) -> Iterator[str]:
    """Join LDIF records into larger strings for the pipe."""
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)
