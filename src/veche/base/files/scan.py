"""The scan hook: a command an organisation plugs its antivirus into, run on every upload before it is kept.

The command is a list of arguments (no shell); ``{path}`` in any of them is replaced by the uploaded file's path.
Exit status 0: clean. 1: infected — the upload is refused. Anything else, or no answer within the timeout: the
scan failed, and the upload fails too (a file is never kept unscanned when a scanner is configured).
This is clamdscan's convention (and clamscan's, and most command-line scanners').
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Protocol

__all__ = ["CommandScanner", "FileScanner", "NoScanner", "ScanError", "ScanVerdict", "Verdict"]

logger = logging.getLogger(__name__)

OUTPUT_CHARS = 500  # of the scanner's output kept for the log


class Verdict(Enum):
    CLEAN = "clean"
    INFECTED = "infected"


@dataclass(frozen=True)
class ScanVerdict:
    verdict: Verdict
    detail: str = ""  # what the scanner said (e.g. "Eicar-Signature FOUND")


class ScanError(Exception):
    """The scanner did not give a verdict (crashed, missing, other exit status, too slow)."""


class FileScanner(Protocol):
    async def scan(self, path: Path) -> ScanVerdict: ...


class NoScanner:
    """No scan hook configured: every file is clean."""

    async def scan(self, path: Path) -> ScanVerdict:
        return ScanVerdict(Verdict.CLEAN)


class CommandScanner:
    def __init__(self, command: Sequence[str], *, timeout_s: float) -> None:
        if not command:
            raise ValueError("the scan command is empty")
        self._command = list(command)
        self._timeout_s = timeout_s

    async def scan(self, path: Path) -> ScanVerdict:
        args = [arg.replace("{path}", str(path)) for arg in self._command]
        try:
            process = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
        except OSError as exc:
            raise ScanError(f"the scan command {args[0]!r} could not be started: {exc.strerror or exc}") from exc
        try:
            output, _ = await asyncio.wait_for(process.communicate(), self._timeout_s)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise ScanError(f"the scan command gave no answer within {self._timeout_s:g} s") from None
        said = output.decode("utf-8", "replace").strip()[-OUTPUT_CHARS:]
        if process.returncode == 0:
            return ScanVerdict(Verdict.CLEAN, said)
        if process.returncode == 1:
            return ScanVerdict(Verdict.INFECTED, said)
        raise ScanError(f"the scan command failed (exit status {process.returncode}): {said}")
