"""SIP over TLS (sip.tls_port) with the server's certificate: OPTIONS answered 200 to a client that checks it.

Debian's SIPp is built without OpenSSL ("To use a TLS transport you must compile SIPp with OpenSSL"), so the client
here is Python's ssl module (OpenSSL), not SIPp."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.sip.test_fuzz import request
from veche.app.admission import CountedAdmission
from veche.app.sip.dial_in import DialIn
from veche.app.sip.directory import FixedDirectory
from veche.app.sip.listener import SipListener
from veche.config.sip import SipConfig


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.fixture
async def tls_listener(tmp_path: Path) -> AsyncIterator[tuple[SipListener, Path]]:
    cert_file, key_file = self_signed(tmp_path)
    listener = SipListener(
        SipConfig(port=0, tls_port=0),
        DialIn(FixedDirectory(), CountedAdmission()),
        host="127.0.0.1",
        certificate=(cert_file, key_file),
    )
    await listener.start()
    try:
        yield listener, cert_file
    finally:
        await listener.stop()


async def test_options_over_tls_is_answered_200(tls_listener: tuple[SipListener, Path]) -> None:
    listener, cert_file = tls_listener
    assert listener.tls_port is not None
    context = ssl.create_default_context(cafile=str(cert_file))  # the server's certificate is checked
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.tls_port, ssl=context)
    writer.write(request("OPTIONS", "over-tls"))
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10.0)
    writer.close()
    assert head.startswith(b"SIP/2.0 200 OK\r\n") and b"Call-ID: over-tls\r\n" in head


async def test_without_a_certificate_tls_stays_off_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    listener = SipListener(
        SipConfig(port=0, tls_port=0), DialIn(FixedDirectory(), CountedAdmission()), host="127.0.0.1"
    )
    await listener.start()
    try:
        assert listener.port is not None and listener.tls_port is None
        assert "SIP over TLS is off: there is no server certificate" in caplog.text
    finally:
        await listener.stop()
