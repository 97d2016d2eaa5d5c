"""A throwaway Samba Active Directory domain controller for tests: the AD code paths against a real AD server.

``samba-tool domain provision`` makes a new domain (realm VECHE.TEST, DC=veche,DC=test) in a temporary
directory, then ``samba -i -M single`` serves it with only the LDAP service. Samba listens on the fixed AD ports
(389, 636, 3268, 3269) of 127.0.0.1 and ::1, so run the tests inside the private network namespace of
``scripts/netns-run`` (``scripts/test`` does), where those ports are free. Never the machine's own Samba: every
instance has its own directory, pid and socket directories; ``-i`` makes it exit when its stdin closes, so it
also ends if the test process dies.

Samba is an AD-compatible implementation, not Microsoft's: what it shows is how Samba 4.17 behaves.
People and groups are added over LDAPS as the domain's Administrator (a password can only be set over an
encrypted connection); ``samba_tool`` runs the admin tool on the domain's database (``user disable``).
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import ldap3
from ldap3.core.exceptions import LDAPException

__all__ = [
    "ADMIN_DN",
    "ADMIN_PASSWORD",
    "BASE_DN",
    "GROUPS_DN",
    "PEOPLE_DN",
    "USERS_DN",
    "AdPerson",
    "SambaAd",
    "SambaAdUnavailable",
    "format_guid",
    "group_dn",
]

REALM = "VECHE.TEST"
DOMAIN = "VECHE"
BASE_DN = "DC=veche,DC=test"
PEOPLE_DN = f"OU=People,{BASE_DN}"
GROUPS_DN = f"OU=Groups,{BASE_DN}"
USERS_DN = f"CN=Users,{BASE_DN}"  # the default container, outside the tests' base DNs
ADMIN_DN = f"CN=Administrator,{USERS_DN}"
ADMIN_PASSWORD = "Admin-Secret-1"  # Samba's default password policy wants three kinds of characters
LDAP_PORT = 389
LDAPS_PORT = 636

NORMAL_ACCOUNT = 0x200
ACCOUNTDISABLE = 0x2

# Added to the provisioned smb.conf: simple binds over plain LDAP (as Veche's tests use them), only the LDAP
# service, and run-time directories of its own (the defaults are the machine's /run/samba).
_OPTIONS = (
    "ldap server require strong auth = no",
    "server services = ldap",
    "pid directory = {root}/run",
    "ncalrpc dir = {root}/run/ncalrpc",
    "winbindd socket directory = {root}/run/winbindd",
    "ntp signd socket directory = {root}/run/ntp_signd",
    "log file = {root}/log.%m",
)


class SambaAdUnavailable(Exception):
    """Samba cannot run here (not installed, not root, port taken); the message says why."""


@dataclass
class AdPerson:
    login: str  # sAMAccountName
    given: str
    surname: str
    password: str = ""
    mail: str = ""
    phone: str = ""
    department: str = ""
    title: str = ""
    container: str = PEOPLE_DN

    @property
    def display_name(self) -> str:
        return f"{self.given} {self.surname}"

    @property
    def dn(self) -> str:
        return f"CN={self.login},{self.container}"


def group_dn(name: str) -> str:
    return f"CN={name},{GROUPS_DN}"


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _run(args: list[str], what: str, timeout_s: float = 120) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {(done.stdout + done.stderr)[-3000:]}")
    return done.stdout


def _password(value: str) -> bytes:
    """unicodePwd: the password in double quotes, UTF-16-LE."""
    return f'"{value}"'.encode("utf-16-le")


def format_guid(raw: bytes) -> str:
    return str(uuid.UUID(bytes_le=raw))


@dataclass
class SambaAd:
    """A provisioned domain; :meth:`start` serves it, :meth:`stop` ends it and removes its directory."""

    root: Path
    process: subprocess.Popen[bytes] | None = None
    provision_s: float = 0.0  # how long samba-tool domain provision took
    start_s: float = 0.0  # from starting samba until LDAP answered a bind
    _log: IO[bytes] | None = field(default=None, repr=False)

    url = f"ldap://127.0.0.1:{LDAP_PORT}"
    ldaps_url = f"ldaps://127.0.0.1:{LDAPS_PORT}"

    @property
    def smb_conf(self) -> Path:
        return self.root / "etc" / "smb.conf"

    @property
    def log_file(self) -> Path:
        return self.root / "samba.log"

    @classmethod
    def provision(cls, root: Path | None = None) -> SambaAd:
        """A new domain in ``root`` (a new temporary directory by default)."""
        if shutil.which("samba") is None and not Path("/usr/sbin/samba").exists():
            raise SambaAdUnavailable("samba not found: apt-get install samba-ad-dc samba-ad-provision")
        if shutil.which("samba-tool") is None:
            raise SambaAdUnavailable("samba-tool not found: apt-get install samba-ad-dc samba-ad-provision")
        if os.geteuid() != 0:
            raise SambaAdUnavailable("the Samba AD DC needs root (it binds port 389 and owns its files)")
        for port in (LDAP_PORT, LDAPS_PORT):
            if _port_taken(port):
                raise SambaAdUnavailable(
                    f"port {port} of 127.0.0.1 is taken: run the tests in a network namespace (scripts/netns-run)"
                )
        root = root or Path(tempfile.mkdtemp(prefix="veche-samba-"))
        started = time.monotonic()
        try:
            _run(
                [
                    "samba-tool",
                    "domain",
                    "provision",
                    "--use-rfc2307",
                    "--server-role=dc",
                    f"--realm={REALM}",
                    f"--domain={DOMAIN}",
                    f"--adminpass={ADMIN_PASSWORD}",
                    f"--targetdir={root}",
                    "--dns-backend=NONE",
                    "--host-name=dc1",
                    "--host-ip=127.0.0.1",
                    "--option=interfaces = lo",
                    "--option=bind interfaces only = yes",
                ],
                "samba-tool domain provision",
            )
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        server = cls(root=root, provision_s=time.monotonic() - started)
        server._configure()
        return server

    def _configure(self) -> None:
        (self.root / "run").mkdir(exist_ok=True)
        lines = self.smb_conf.read_text().splitlines(keepends=True)
        # At the end of [global]: a later line wins over the provisioned one (e.g. its "server services").
        end = next(
            (i for i, line in enumerate(lines) if line.startswith("[") and line.strip() != "[global]"), len(lines)
        )
        extra = [f"\t{option.format(root=self.root)}\n" for option in _OPTIONS]
        self.smb_conf.write_text("".join(lines[:end] + extra + ["\n"] + lines[end:]))

    def start(self) -> SambaAd:
        started = time.monotonic()
        log = self.log_file.open("ab")
        self._log = log
        self.process = subprocess.Popen(
            ["samba", "-i", "-M", "single", "-d", "1", "-s", str(self.smb_conf)],
            stdin=subprocess.PIPE,  # -i: samba exits when its stdin closes
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self._admin(tls=False).unbind()
                break
            except LDAPException:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"samba exited with {self.process.returncode}: {self.log_file.read_text()[-3000:]}"
                    ) from None
                if time.monotonic() > deadline:
                    raise RuntimeError("samba did not answer LDAP within 60 s") from None
                time.sleep(0.05)
        self.start_s = time.monotonic() - started
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        shutil.rmtree(self.root, ignore_errors=True)

    # -- administration --------------------------------------------------------------------------------------------

    def _admin(self, *, tls: bool = True) -> ldap3.Connection:
        if tls:  # passwords (unicodePwd) can only be set over an encrypted connection
            server = ldap3.Server(
                self.ldaps_url, get_info=ldap3.NONE, tls=ldap3.Tls(validate=ssl.CERT_NONE), connect_timeout=5
            )
        else:
            server = ldap3.Server(self.url, get_info=ldap3.NONE, connect_timeout=1)
        return ldap3.Connection(server, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True, raise_exceptions=True)

    def samba_tool(self, *args: str) -> str:
        """``samba-tool ARGS`` on this domain's database (e.g. ``user disable LOGIN``)."""
        return _run(["samba-tool", *args, "-s", str(self.smb_conf)], f"samba-tool {' '.join(args)}")

    def add_ou(self, dn: str) -> None:
        with self._admin() as conn:
            conn.add(dn, ["organizationalUnit"])

    def add_person(self, person: AdPerson, *, disabled: bool = False) -> None:
        """An enabled user with a password (userAccountControl NORMAL_ACCOUNT; ACCOUNTDISABLE too if ``disabled``)."""
        attributes: dict[str, object] = {
            "sAMAccountName": person.login,
            "userPrincipalName": f"{person.login}@{REALM.lower()}",
            "givenName": person.given,
            "sn": person.surname,
            "displayName": person.display_name,
            "unicodePwd": _password(person.password),
            "userAccountControl": str(NORMAL_ACCOUNT | (ACCOUNTDISABLE if disabled else 0)),
        }
        for name, value in (
            ("mail", person.mail),
            ("telephoneNumber", person.phone),
            ("department", person.department),
            ("title", person.title),
        ):
            if value:
                attributes[name] = value
        with self._admin() as conn:
            conn.add(person.dn, ["user"], attributes)

    def add_group(self, name: str, members: Iterable[str] = ()) -> str:
        """A global security group (the default kind) with the given member DNs; its DN."""
        dn = group_dn(name)
        attributes: dict[str, object] = {"sAMAccountName": name}
        listed = list(members)
        if listed:
            attributes["member"] = listed
        with self._admin() as conn:
            conn.add(dn, ["group"], attributes)
        return dn

    def modify(self, dn: str, changes: dict[str, tuple[str, list[str]]]) -> None:
        """``{"displayName": ("replace", ["New name"]), "member": ("add", [dn])}`` as the Administrator."""
        kinds = {"replace": ldap3.MODIFY_REPLACE, "add": ldap3.MODIFY_ADD, "delete": ldap3.MODIFY_DELETE}
        with self._admin() as conn:
            conn.modify(dn, {name: [(kinds[kind], values)] for name, (kind, values) in changes.items()})

    def delete(self, dn: str) -> None:
        with self._admin() as conn:
            conn.delete(dn)

    def guid(self, dn: str) -> str:
        """The entry's objectGUID in the usual text form."""
        with self._admin(tls=False) as conn:
            conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["objectGUID"])
            return format_guid(conn.response[0]["raw_attributes"]["objectGUID"][0])

    def highest_committed_usn(self) -> int:
        with self._admin(tls=False) as conn:
            conn.search("", "(objectClass=*)", ldap3.BASE, attributes=["highestCommittedUSN"])
            return int(conn.response[0]["raw_attributes"]["highestCommittedUSN"][0])
