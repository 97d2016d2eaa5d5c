"""The certificate a Veche server serves HTTPS with: the one the administrator gave, or one generated for this
machine's names and addresses on first start and kept in ``<data_dir>/tls``.

Used by the CLI (``veche up`` / ``veche run``) before uvicorn starts, so a wrong file stops Veche with a clear
message instead of a TLS stack trace. The generated certificate is self-signed and *not* a CA (``CA:FALSE``): a
colleague who trusts it lets it vouch for this server only, never for other sites.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import psutil
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from veche.config.settings import HttpConfig

__all__ = [
    "GENERATED_CERT",
    "GENERATED_KEY",
    "IpAddress",
    "MachineNames",
    "ServerCertificate",
    "TlsError",
    "ensure_generated_certificate",
    "generate_certificate",
    "load_certificate",
    "machine_names",
    "server_certificate",
]

logger = logging.getLogger(__name__)

GENERATED_CERT = "cert.pem"
GENERATED_KEY = "key.pem"
# Apple refuses server certificates valid longer than 825 days even from a locally trusted issuer.
VALIDITY_DAYS = 820

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TlsError(ValueError):
    """The certificate or key cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class MachineNames:
    """The names and addresses browsers may use to reach this machine."""

    dns: tuple[str, ...]
    ips: tuple[IpAddress, ...]


@dataclass(frozen=True)
class ServerCertificate:
    """A certificate and key ready for the HTTPS server."""

    cert_file: Path
    key_file: Path
    fingerprint_sha256: str  # "AB:CD:...", as browsers show it
    dns_names: tuple[str, ...]
    ip_addresses: tuple[IpAddress, ...]
    not_after: datetime.datetime
    generated: bool  # made by Veche (self-signed) rather than given by the administrator
    created_now: bool = False  # generated during this start

    def missing(self, names: MachineNames) -> list[str]:
        """Names and addresses of ``names`` that this certificate does not cover."""
        dns = {n.lower() for n in self.dns_names}
        return [n for n in names.dns if n.lower() not in dns] + [
            str(ip) for ip in names.ips if ip not in self.ip_addresses
        ]


def server_certificate(http: HttpConfig, data_dir: Path, now: datetime.datetime) -> ServerCertificate | None:
    """The certificate to serve HTTPS with, checked now (a wrong file stops Veche before anything starts): the
    configured pair, else the one generated into ``<data_dir>/tls``; None for plain HTTP (``http.tls = false``)."""
    if not http.tls:
        return None
    if http.tls_cert_file is not None and http.tls_key_file is not None:
        return load_certificate(http.tls_cert_file, http.tls_key_file)
    return ensure_generated_certificate(data_dir / "tls", now)


def machine_names() -> MachineNames:
    """The host name, its fully qualified name, ``localhost``, and every address of an interface that is up
    (loopback included; IPv6 link-local addresses left out: browsers cannot open them without a zone)."""
    dns: list[str] = []
    for name in (socket.gethostname(), socket.getfqdn(), "localhost"):
        name = name.strip().rstrip(".").lower()
        if name and name not in dns and _valid_dns_name(name):
            dns.append(name)
    ips: list[IpAddress] = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    stats = psutil.net_if_stats()
    for interface, addresses in psutil.net_if_addrs().items():
        if interface in stats and not stats[interface].isup:
            continue
        for address in addresses:
            if address.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            try:
                ip = ipaddress.ip_address(address.address.split("%", 1)[0])
            except ValueError:
                continue
            if ip.is_link_local or ip in ips:
                continue
            ips.append(ip)
    return MachineNames(dns=tuple(dns), ips=tuple(ips))


def _valid_dns_name(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return False  # an address goes into the IP SANs
    except ValueError:
        pass
    return all(label and len(label) <= 63 and label.replace("-", "").isalnum() for label in name.split("."))


def generate_certificate(
    cert_file: Path, key_file: Path, names: MachineNames, now: datetime.datetime
) -> ServerCertificate:
    """Write a new self-signed certificate for ``names`` and its key (mode 0600, created so from the start)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names.dns[0] if names.dns else "veche")])
    san: list[x509.GeneralName] = [x509.DNSName(n) for n in names.dns]
    san += [x509.IPAddress(ip) for ip in names.ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # machines whose clocks lag a little
        .not_valid_after(now + datetime.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_bytes)
    os.chmod(key_file, 0o600)  # also when the file existed with another mode
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    logger.info("generated a self-signed certificate in %s", cert_file)
    return _describe(cert, cert_file, key_file, generated=True, created_now=True)


def ensure_generated_certificate(directory: Path, now: datetime.datetime) -> ServerCertificate:
    """The certificate generated earlier in ``directory``, or a new one for this machine when there is none yet or
    it has expired. A kept certificate that no longer covers every name or address is still used (its fingerprint
    is what people trusted); the caller warns about what is missing."""
    cert_file, key_file = directory / GENERATED_CERT, directory / GENERATED_KEY
    if cert_file.exists() != key_file.exists():
        present = cert_file if cert_file.exists() else key_file
        raise TlsError(f"{directory} holds {present.name} alone: delete {directory} to generate a new certificate.")
    if cert_file.exists():
        existing = load_certificate(cert_file, key_file, generated=True)
        if existing.not_after > now + datetime.timedelta(days=1):
            if key_file.stat().st_mode & 0o077:
                os.chmod(key_file, 0o600)
            return existing
        logger.warning("the generated certificate in %s has expired: generating a new one", cert_file)
    return generate_certificate(cert_file, key_file, machine_names(), now)


def load_certificate(cert_file: Path, key_file: Path, *, generated: bool = False) -> ServerCertificate:
    """Check that ``cert_file`` (PEM, the server's certificate first, then any chain) and ``key_file`` (PEM, not
    encrypted) can be read and belong together."""
    cert_pem = _read(cert_file, "certificate")
    key_pem = _read(key_file, "key")
    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise TlsError(f"TLS certificate {cert_file} is not a PEM certificate (-----BEGIN CERTIFICATE-----).") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise TlsError(f"TLS key {key_file} is encrypted: give Veche an unencrypted key (mode 0600).") from None
    except (ValueError, UnsupportedAlgorithm):
        raise TlsError(f"TLS key {key_file} is not a PEM private key (-----BEGIN PRIVATE KEY-----).") from None
    cert = chain[0]
    if cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        raise TlsError(f"TLS key {key_file} does not belong to the certificate {cert_file}: give the matching pair.")
    return _describe(cert, cert_file, key_file, generated=generated)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise TlsError(f"TLS {what} {path} does not exist.") from None
    except OSError as e:
        raise TlsError(f"Cannot read the TLS {what} {path}: {e.strerror or e}.") from None


def _describe(
    cert: x509.Certificate, cert_file: Path, key_file: Path, *, generated: bool, created_now: bool = False
) -> ServerCertificate:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = tuple(san.get_values_for_type(x509.DNSName))
        ips = tuple(
            ip
            for ip in san.get_values_for_type(x509.IPAddress)
            if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address)
        )
    except x509.ExtensionNotFound:
        dns, ips = (), ()
    digest = cert.fingerprint(hashes.SHA256())
    return ServerCertificate(
        cert_file=cert_file,
        key_file=key_file,
        fingerprint_sha256=":".join(f"{b:02X}" for b in digest),
        dns_names=dns,
        ip_addresses=ips,
        not_after=cert.not_valid_after_utc,
        generated=generated,
        created_now=created_now,
    )
