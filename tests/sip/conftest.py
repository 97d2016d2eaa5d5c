"""A SIP listener on a free port of 127.0.0.1 with numbers and license limits held in memory, and SIPp to call it."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from veche.app.admission import CountedAdmission
from veche.app.sip.dial_in import DialIn
from veche.app.sip.directory import DialInTarget, FixedDirectory
from veche.app.sip.listener import SipListener
from veche.config.sip import SipConfig

NUMBER = "12345678"  # a conference
PIN_NUMBER = "23456789"  # a meeting that asks for a PIN
PIN = "4321"
SCENARIOS = Path(__file__).parent / "scenarios"


@dataclass
class SipUnderTest:
    listener: SipListener
    admission: CountedAdmission
    port: int


@pytest.fixture
async def sip() -> AsyncIterator[SipUnderTest]:
    admission = CountedAdmission()
    directory = FixedDirectory(
        {NUMBER: DialInTarget(1, "Weekly"), PIN_NUMBER: DialInTarget(2, "Board")}, pins={PIN_NUMBER: PIN}
    )
    # T1 of 50 ms: a final response not acknowledged is resent within the test's patience.
    listener = SipListener(SipConfig(port=0), DialIn(directory, admission), host="127.0.0.1", t1_s=0.05)
    await listener.start()
    assert listener.port is not None
    try:
        yield SipUnderTest(listener, admission, listener.port)
    finally:
        await listener.stop()


@dataclass
class SippResult:
    returncode: int
    output: str


async def run_sipp(
    scenario: Path,
    port: int,
    *,
    transport: str = "u1",
    keys: dict[str, str] | None = None,
    service: str = NUMBER,
    work_dir: Path,
) -> SippResult:
    """One call of ``scenario`` from SIPp to 127.0.0.1:``port``; SIPp exits 0 when the call went as scripted."""
    sipp = shutil.which("sipp")
    if sipp is None:
        pytest.skip("SIPp is not installed (Debian package sip-tester)")
    args = [
        sipp,
        f"127.0.0.1:{port}",
        "-sf",
        str(scenario),
        "-m",
        "1",
        "-t",
        transport,
        "-i",
        "127.0.0.1",
        "-s",
        service,
        "-timeout",
        "20s",
        "-timeout_error",
        "-nostdin",
        "-trace_err",
        "-error_file",
        str(work_dir / "sipp-errors.log"),
        "-trace_logs",
        "-log_file",
        str(work_dir / "sipp-actions.log"),
    ]
    for name, value in (keys or {}).items():
        args += ["-key", name, value]
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=work_dir
    )
    out, _ = await process.communicate()
    text = out.decode(errors="replace")[-3000:]
    for name in ("sipp-errors.log", "sipp-actions.log"):  # what went wrong; what the scenario's <log> wrote
        written = work_dir / name
        if written.exists():
            text += written.read_text(errors="replace")[-3000:]
            written.unlink()
    return SippResult(process.returncode or 0, text)
