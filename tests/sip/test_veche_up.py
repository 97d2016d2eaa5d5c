"""The SIP listener inside the real ``veche up``: conference numbers from the REST API, dialled with
SIPp over the real bus and database; a second server on the same SIP port starts without SIP and says why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sip.conftest import SCENARIOS, run_sipp
from tests.sip.test_sipp import PCMU, refused_scenario
from tests.support.net import free_tcp_port
from tests.support.server import VecheServer

pytestmark = pytest.mark.janus


@pytest.fixture(scope="module")
def sip_port() -> int:
    return free_tcp_port()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sip_port: int) -> Iterator[VecheServer]:
    started = VecheServer.start(root=tmp_path_factory.mktemp("sip-server"), extra_args=("--sip-port", str(sip_port)))
    try:
        yield started
    finally:
        started.stop()


def test_a_conference_has_a_number_in_the_api(server: VecheServer) -> None:
    created = server.api("POST", "/api/v1/conferences", server.admin_token, json={"name": "Dial me"}).json()
    number = created["number"]
    assert number.isdigit() and len(number) == 8
    assert server.api("GET", f"/api/v1/conferences/{created['id']}", server.admin_token).json()["number"] == number


async def test_options_and_calls_are_answered_by_the_number_s_conference(
    server: VecheServer, sip_port: int, tmp_path: Path
) -> None:
    body = {"name": "Phones", "guests_allowed": True}
    number = server.api("POST", "/api/v1/conferences", server.admin_token, json=body).json()["number"]
    for transport in ("u1", "t1"):
        result = await run_sipp(SCENARIOS / "options.xml", sip_port, transport=transport, work_dir=tmp_path)
        assert result.returncode == 0, result.output
    unknown = await run_sipp(
        refused_scenario(tmp_path, 404), sip_port, keys=PCMU, service="10000000", work_dir=tmp_path
    )
    assert unknown.returncode == 0, unknown.output
    # A real number, a codec in common, no license limit: everything passes, but audio is not built yet: 480.
    known = await run_sipp(refused_scenario(tmp_path, 480), sip_port, keys=PCMU, service=number, work_dir=tmp_path)
    assert known.returncode == 0, known.output
    assert "Calls from phones cannot join conferences yet" in known.output


async def test_a_conference_without_guests_refuses_callers(server: VecheServer, sip_port: int, tmp_path: Path) -> None:
    body = {"name": "Staff only", "guests_allowed": False}
    number = server.api("POST", "/api/v1/conferences", server.admin_token, json=body).json()["number"]
    result = await run_sipp(refused_scenario(tmp_path, 403), sip_port, keys=PCMU, service=number, work_dir=tmp_path)
    assert result.returncode == 0, result.output
    assert "This conference takes no guests, and callers by phone join as guests." in result.output


def test_a_second_server_on_a_taken_sip_port_starts_without_sip(
    server: VecheServer, sip_port: int, tmp_path: Path
) -> None:
    second = VecheServer.start(root=tmp_path, extra_args=("--sip-port", str(sip_port)))
    try:
        assert second.health()["status"] == "ok"
        log = second.log_path.read_text()
        assert f"SIP is off on this server: port {sip_port} (UDP and TCP)" in log
        assert log.count("SIP is off on this server") == 1
    finally:
        second.stop()
