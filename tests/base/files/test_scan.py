"""The scan hook runs a real command: a script that flags the EICAR test file as infected, like clamdscan."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.base.files.eicar_scanner import EICAR
from veche.base.files.scan import CommandScanner, ScanError, Verdict

SCANNER = [sys.executable, str(Path(__file__).with_name("eicar_scanner.py")), "{path}"]


async def test_the_eicar_file_is_infected_and_the_scanner_says_why(tmp_path: Path) -> None:
    infected = tmp_path / "invoice.txt"
    infected.write_bytes(EICAR)
    verdict = await CommandScanner(SCANNER, timeout_s=30).scan(infected)
    assert verdict.verdict is Verdict.INFECTED
    assert "Eicar-Signature FOUND" in verdict.detail


async def test_an_ordinary_file_is_clean(tmp_path: Path) -> None:
    clean = tmp_path / "minutes.txt"
    clean.write_text("Minutes of the weekly meeting")
    assert (await CommandScanner(SCANNER, timeout_s=30).scan(clean)).verdict is Verdict.CLEAN


async def test_another_exit_status_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match="exit status 2"):
        await CommandScanner(SCANNER, timeout_s=30).scan(tmp_path / "gone.txt")


async def test_a_missing_scanner_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match="could not be started"):
        await CommandScanner(["/nonexistent/clamdscan", "{path}"], timeout_s=30).scan(tmp_path / "x")


async def test_a_scanner_that_does_not_answer_in_time_is_an_error(tmp_path: Path) -> None:
    hanging = [sys.executable, "-c", "import sys, time; time.sleep(600)", "{path}"]
    with pytest.raises(ScanError, match="no answer within 0.5 s"):
        await CommandScanner(hanging, timeout_s=0.5).scan(tmp_path / "x")
