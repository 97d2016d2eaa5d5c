"""SIPp, a real SIP peer, against the listener: OPTIONS, and the refusals of calls, over UDP and TCP."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sip.conftest import PIN, PIN_NUMBER, SCENARIOS, SipUnderTest, run_sipp
from veche.domain.license_pools import Pool

PCMU = {"pt": "0 101", "rtpmap": "a=rtpmap:101 telephone-event/8000"}
G729_ONLY = {"pt": "18", "rtpmap": "a=rtpmap:18 G729/8000"}


def refused_scenario(tmp_path: Path, status: int) -> Path:
    scenario = tmp_path / f"invite_{status}.xml"
    scenario.write_text((SCENARIOS / "invite_refused.xml").read_text().replace("@STATUS@", str(status)))
    return scenario


@pytest.mark.parametrize("transport", ["u1", "t1"])
async def test_options_is_answered_200_with_the_methods(sip: SipUnderTest, tmp_path: Path, transport: str) -> None:
    result = await run_sipp(SCENARIOS / "options.xml", sip.port, transport=transport, work_dir=tmp_path)
    assert result.returncode == 0, result.output


@pytest.mark.parametrize("transport", ["u1", "t1"])
async def test_an_unknown_number_is_404(sip: SipUnderTest, tmp_path: Path, transport: str) -> None:
    result = await run_sipp(
        refused_scenario(tmp_path, 404),
        sip.port,
        transport=transport,
        keys=PCMU,
        service="99999999",
        work_dir=tmp_path,
    )
    assert result.returncode == 0, result.output
    assert sip.listener.transactions.figures.invites == 1


@pytest.mark.parametrize("dialled", [PIN_NUMBER, f"{PIN_NUMBER}*9999"])
async def test_a_conference_that_asks_for_a_pin_is_403_without_the_right_one(
    sip: SipUnderTest, tmp_path: Path, dialled: str
) -> None:
    result = await run_sipp(refused_scenario(tmp_path, 403), sip.port, keys=PCMU, service=dialled, work_dir=tmp_path)
    assert result.returncode == 0, result.output


async def test_the_pin_after_a_star_passes_the_pin_check(sip: SipUnderTest, tmp_path: Path) -> None:
    dialled = f"{PIN_NUMBER}*{PIN}"
    result = await run_sipp(refused_scenario(tmp_path, 480), sip.port, keys=PCMU, service=dialled, work_dir=tmp_path)
    assert result.returncode == 0, result.output


@pytest.mark.parametrize("transport", ["u1", "t1"])
async def test_no_common_codec_is_488(sip: SipUnderTest, tmp_path: Path, transport: str) -> None:
    result = await run_sipp(
        refused_scenario(tmp_path, 488), sip.port, transport=transport, keys=G729_ONLY, work_dir=tmp_path
    )
    assert result.returncode == 0, result.output
    assert sip.admission.in_use.get(Pool.GATEWAY, 0) == 0  # refused before any seat was taken


@pytest.mark.parametrize("transport", ["u1", "t1"])
async def test_an_exhausted_gateway_pool_is_486_with_the_license_s_words(
    sip: SipUnderTest, tmp_path: Path, transport: str
) -> None:
    sip.admission.limits[Pool.GATEWAY] = 0
    result = await run_sipp(
        refused_scenario(tmp_path, 486), sip.port, transport=transport, keys=PCMU, work_dir=tmp_path
    )
    assert result.returncode == 0, result.output
    assert "gateway connections of your license are in use" in result.output
    assert sip.admission.in_use.get(Pool.GATEWAY, 0) == 0


async def test_a_call_that_passes_every_check_is_480_and_gives_its_seat_back(sip: SipUnderTest, tmp_path: Path) -> None:
    sip.admission.limits[Pool.GATEWAY] = 1
    for _ in range(2):  # the one seat comes back after each call, so the second is not 486
        result = await run_sipp(refused_scenario(tmp_path, 480), sip.port, keys=PCMU, work_dir=tmp_path)
        assert result.returncode == 0, result.output
    assert sip.admission.in_use == {Pool.VIDEO: 0, Pool.GATEWAY: 0}
