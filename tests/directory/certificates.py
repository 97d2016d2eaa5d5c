"""Throwaway X.509 certificates for TLS tests, made with the ``openssl`` command (no Python dependency).

A test CA (P-256, valid two days) and server certificates it signs, each a PEM file in a directory of the test's.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CertificateAuthority", "OpensslUnavailable", "ServerCertificate"]

_DAYS = "2"


class OpensslUnavailable(Exception):
    """The ``openssl`` command is not installed; the message says what to install."""


def _openssl(*args: str) -> None:
    if shutil.which("openssl") is None:
        raise OpensslUnavailable("openssl not found: apt-get install openssl")
    done = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr[-2000:]}")


@dataclass(frozen=True)
class ServerCertificate:
    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class CertificateAuthority:
    cert_file: Path
    key_file: Path

    @classmethod
    def create(cls, directory: Path, name: str = "ca") -> CertificateAuthority:
        """A self-signed CA ``<directory>/<name>.pem`` (its key next to it), named ``Veche test CA <name>``."""
        directory.mkdir(parents=True, exist_ok=True)
        ca = cls(directory / f"{name}.pem", directory / f"{name}.key")
        _openssl(
            "req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-keyout", str(ca.key_file), "-out", str(ca.cert_file), "-days", _DAYS,
            "-subj", f"/CN=Veche test CA {name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip
        return ca

    def issue_server(self, directory: Path, name: str, hosts: tuple[str, ...] = ("127.0.0.1",)) -> ServerCertificate:
        """A server certificate for ``hosts`` (IP addresses or DNS names, all in subjectAltName)."""
        directory.mkdir(parents=True, exist_ok=True)
        server = ServerCertificate(directory / f"{name}.pem", directory / f"{name}.key")
        request = directory / f"{name}.csr"
        extensions = directory / f"{name}.ext"
        names = ",".join(f"IP:{h}" if h.replace(".", "").isdigit() or ":" in h else f"DNS:{h}" for h in hosts)
        extensions.write_text(
            f"subjectAltName={names}\nbasicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        )
        _openssl(
            "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-keyout", str(server.key_file), "-out", str(request), "-subj", f"/CN={hosts[0]}",
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", str(request), "-CA", str(self.cert_file), "-CAkey", str(self.key_file),
            "-set_serial", f"0x{secrets.token_hex(8)}", "-days", _DAYS, "-extfile", str(extensions),
            "-out", str(server.cert_file),
        )  # fmt: skip
        return server
