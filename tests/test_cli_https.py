"""`veche up` serves HTTPS out of the box (a certificate it generates, printed with its fingerprint), signaling
over wss, and plain HTTP only when asked."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from websockets.sync.client import connect

from tests.support.server import VecheServer
from veche import cli
from veche.config.settings import VecheSettings
from veche.node.tls import ServerCertificate


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VecheServer]:
    server = VecheServer.start(root=tmp_path_factory.mktemp("veche-https"), tls=True)
    try:
        yield server
    finally:
        server.stop()


def test_veche_up_serves_https_with_the_certificate_it_printed(https_server: VecheServer) -> None:
    cert_file = https_server.data_dir / "tls" / "cert.pem"
    trusted = ssl.create_default_context(cafile=str(cert_file))  # what a colleague who trusted it has

    page = httpx.get(f"{https_server.url}/login", verify=trusted)

    assert https_server.url.startswith("https://127.0.0.1:")
    assert page.status_code == 200 and "<form" in page.text
    assert "; secure" in page.headers["set-cookie"].lower()  # cookies travel over HTTPS only
    fingerprint = x509.load_pem_x509_certificate(cert_file.read_bytes()).fingerprint(hashes.SHA256())
    printed = https_server.log_path.read_text()
    assert f"Open https://127.0.0.1:{https_server.url.rsplit(':', 1)[1]}" in printed
    assert f"SHA-256 fingerprint {':'.join(f'{b:02X}' for b in fingerprint)}" in printed
    assert (https_server.data_dir / "tls" / "key.pem").stat().st_mode & 0o777 == 0o600
    # Without trusting it, a client refuses the server (a browser warns), and plain HTTP gets no page.
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{https_server.url}/login")
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{https_server.url.replace('https://', 'http://')}/login")


def test_signaling_follows_over_wss(https_server: VecheServer) -> None:
    token = https_server.admin_token
    conference = https_server.api(
        "POST", "/api/v1/conferences", token, {"name": "Over TLS", "type": "all_see_all", "max_participants": 5}
    )
    assert conference.status_code == 201, conference.text
    join = https_server.api("POST", f"/api/v1/conferences/{conference.json()['id']}/join", token, {})
    assert join.status_code == 200, join.text
    answer = join.json()
    assert answer["signaling_url"] == https_server.url.replace("https://", "wss://") + "/ws/v1"

    trusted = ssl.create_default_context(cafile=str(https_server.data_dir / "tls" / "cert.pem"))
    with connect(answer["signaling_url"], ssl=trusted, open_timeout=20) as ws:
        ws.send(json.dumps({"type": "join", "v": 1, "ticket": answer["ticket"]}))
        first = json.loads(ws.recv(timeout=20))
    assert first["type"] == "joined", first
    assert first["conference"]["name"] == "Over TLS"


def test_plain_http_only_on_request(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = VecheServer.start(root=tmp_path_factory.mktemp("veche-plain"))  # --no-tls
    try:
        assert server.url.startswith("http://")
        page = httpx.get(f"{server.url}/login")
        assert page.status_code == 200 and "; secure" not in page.headers["set-cookie"].lower()
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{server.url.replace('http://', 'https://')}/login", verify=False)
        assert not (server.data_dir / "tls").exists()
        assert "plain HTTP: camera and microphone only at http://localhost" in server.log_path.read_text()
    finally:
        server.stop()


def test_a_cluster_app_server_advertises_wss_when_it_serves_https(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[tuple[VecheSettings, ServerCertificate | None]] = []

    def serve(settings: VecheSettings, roles: list[str], cert: ServerCertificate | None) -> int:
        served.append((settings, cert))  # instead of listening: what it would serve and advertise
        return 0

    monkeypatch.setattr(cli, "_serve", serve)
    for tls, scheme in (("true", "wss"), ("false", "ws")):
        config = tmp_path / f"app-{tls}.toml"
        config.write_text(
            f'data_dir = "{tmp_path / tls}"\n[http]\nhost = "127.0.0.1"\nport = 9443\ntls = {tls}\n'
            '[bus]\nurl = "nats://127.0.0.1:4222"\n'
        )
        assert cli.main(["run", "app", "--config", str(config)]) == 0
        settings, cert = served[-1]
        assert settings.signaling.public_url == f"{scheme}://127.0.0.1:9443/ws/v1"
        assert (cert is not None) == (tls == "true")
