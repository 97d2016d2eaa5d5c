"""The HTTPS certificate: generated for this machine and kept, or the administrator's pair, checked at start."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from veche.cli import main
from veche.config.settings import HttpConfig, load_settings
from veche.node.tls import (
    MachineNames,
    TlsError,
    ensure_generated_certificate,
    generate_certificate,
    load_certificate,
    machine_names,
    server_certificate,
)

NOW = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=datetime.UTC)


def _sans(cert_file: Path) -> tuple[set[str], set[str]]:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName)), {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}


def _other_pair(tmp_path: Path, name: str) -> tuple[Path, Path]:
    names = MachineNames(dns=(f"{name}.example.test",), ips=(ipaddress.ip_address("127.0.0.1"),))
    cert, key = tmp_path / name / "cert.pem", tmp_path / name / "key.pem"
    generate_certificate(cert, key, names, NOW)
    return cert, key


def test_generated_certificate_names_this_machine_and_its_key_is_private(tmp_path: Path) -> None:
    cert = ensure_generated_certificate(tmp_path / "tls", NOW)

    dns, ips = _sans(cert.cert_file)
    assert socket.gethostname().lower() in dns and "localhost" in dns
    assert socket.getfqdn().lower().rstrip(".") in dns
    assert {"127.0.0.1", "::1"} <= ips
    assert {str(ip) for ip in machine_names().ips} <= ips  # every address of an interface that is up
    assert (tmp_path / "tls" / "key.pem").stat().st_mode & 0o777 == 0o600
    assert cert.generated and cert.created_now and cert.missing(machine_names()) == []
    # The fingerprint printed is the SHA-256 of the certificate, as browsers show it.
    der = x509.load_pem_x509_certificate(cert.cert_file.read_bytes()).fingerprint(hashes.SHA256())
    assert cert.fingerprint_sha256 == ":".join(f"{b:02X}" for b in der)
    # Not a CA: trusting it vouches for this server only. Python's TLS accepts it as its own trust anchor.
    parsed = x509.load_pem_x509_certificate(cert.cert_file.read_bytes())
    assert parsed.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    ssl.create_default_context(cafile=str(cert.cert_file)).load_cert_chain(cert.cert_file, cert.key_file)


def test_generated_certificate_is_reused_on_later_starts(tmp_path: Path) -> None:
    first = ensure_generated_certificate(tmp_path / "tls", NOW)
    (tmp_path / "tls" / "key.pem").chmod(0o644)  # a careless copy: put right again

    again = ensure_generated_certificate(tmp_path / "tls", NOW + datetime.timedelta(days=30))

    assert again.fingerprint_sha256 == first.fingerprint_sha256 and not again.created_now
    assert (tmp_path / "tls" / "key.pem").stat().st_mode & 0o777 == 0o600


def test_an_expired_generated_certificate_is_replaced(tmp_path: Path) -> None:
    first = ensure_generated_certificate(tmp_path / "tls", NOW)
    later = ensure_generated_certificate(tmp_path / "tls", first.not_after + datetime.timedelta(days=1))
    assert later.created_now and later.fingerprint_sha256 != first.fingerprint_sha256


def test_a_kept_certificate_says_what_it_does_not_cover(tmp_path: Path) -> None:
    cert = ensure_generated_certificate(tmp_path / "tls", NOW)
    moved = MachineNames(dns=cert.dns_names, ips=(*cert.ip_addresses, ipaddress.ip_address("203.0.113.7")))
    assert cert.missing(moved) == ["203.0.113.7"]


def test_a_given_pair_is_used_instead_of_generating(tmp_path: Path) -> None:
    cert_file, key_file = _other_pair(tmp_path, "given")
    http = HttpConfig(tls_cert_file=cert_file, tls_key_file=key_file)

    cert = server_certificate(http, tmp_path / "data", NOW)

    assert cert is not None and not cert.generated
    assert cert.cert_file == cert_file and cert.dns_names == ("given.example.test",)
    assert not (tmp_path / "data" / "tls").exists()


def test_plain_http_only_on_request(tmp_path: Path) -> None:
    assert server_certificate(HttpConfig(tls=False), tmp_path, NOW) is None
    assert not (tmp_path / "tls").exists()
    default = server_certificate(HttpConfig(), tmp_path, NOW)
    assert default is not None and default.generated and (tmp_path / "tls" / "cert.pem").exists()


def test_mismatched_or_unreadable_files_are_refused_clearly(tmp_path: Path) -> None:
    cert_a, _ = _other_pair(tmp_path, "a")
    _, key_b = _other_pair(tmp_path, "b")
    with pytest.raises(TlsError, match=f"TLS key {key_b} does not belong to the certificate {cert_a}"):
        load_certificate(cert_a, key_b)
    with pytest.raises(TlsError, match=f"TLS certificate {tmp_path / 'none.pem'} does not exist"):
        load_certificate(tmp_path / "none.pem", key_b)
    with pytest.raises(TlsError, match=f"Cannot read the TLS key {tmp_path}: Is a directory"):
        load_certificate(cert_a, tmp_path)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello\n")
    with pytest.raises(TlsError, match="is not a PEM certificate"):
        load_certificate(garbage, key_b)
    with pytest.raises(TlsError, match="is not a PEM private key"):
        load_certificate(cert_a, garbage)


def test_veche_up_stops_at_once_on_a_wrong_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cert_a, _ = _other_pair(tmp_path, "a")
    _, key_b = _other_pair(tmp_path, "b")
    data = tmp_path / "data"

    assert main(["up", "--data-dir", str(data), "--tls-cert", str(cert_a), "--tls-key", str(key_b)]) == 2
    assert f"veche: TLS key {key_b} does not belong to the certificate {cert_a}" in capsys.readouterr().err
    assert not (data / "veche.db").exists()  # refused before anything started

    assert main(["up", "--data-dir", str(data), "--tls-cert", str(cert_a)]) == 2
    assert "give --tls-cert and --tls-key together" in capsys.readouterr().err


def test_config_needs_both_files(tmp_path: Path) -> None:
    config = tmp_path / "veche.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[http]\ntls_cert_file = "/etc/veche/cert.pem"\n')
    with pytest.raises(ValueError, match="http.tls_cert_file and http.tls_key_file go together"):
        load_settings(config)
    config.write_text(f'data_dir = "{tmp_path}"\n[http]\ntls = false\n')
    assert load_settings(config).http.tls is False
