"""`veche directory sync [--source NAME]`: a full sync now, with a progress bar and a summary."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from typing import TextIO

from veche.base.directory.full_sync import SyncProgress, SyncSummary
from veche.base.directory.server import DirectoryError
from veche.config.settings import VecheSettings

__all__ = ["ProgressBar", "add_directory_commands", "format_summary"]

BAR_WIDTH = 30


class ProgressBar:
    """Redraws one line on a terminal; elsewhere (logs, CI) prints a line every few seconds."""

    def __init__(self, out: TextIO, *, interval_s: float = 5.0) -> None:
        self._out = out
        self._tty = out.isatty()
        self._interval = 0.1 if self._tty else interval_s
        self._last = 0.0
        self._started = time.monotonic()

    def __call__(self, p: SyncProgress) -> None:
        now = time.monotonic()
        if now - self._last < self._interval and p.phase not in ("indexing", "finishing"):
            return
        self._last = now
        rate = p.people / max(now - self._started, 1e-6)
        if p.phase == "people" and p.expected_people:
            share = min(p.people / p.expected_people, 1.0)
            filled = int(share * BAR_WIDTH)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            line = f"{p.source}: people [{bar}] {p.people:,} / ~{p.expected_people:,}  {rate:,.0f}/s"
        elif p.phase == "people":
            line = f"{p.source}: people {p.people:,}  {rate:,.0f}/s"
        elif p.phase == "indexing":
            line = f"{p.source}: {p.people:,} people loaded; building the address book's search indexes…"
        elif p.phase == "groups":
            line = f"{p.source}: groups {p.groups:,}"
        else:
            line = f"{p.source}: resolving groups, roles and access levels, disabling people who are gone…"
        if self._tty:
            self._out.write("\r\x1b[2K" + line)
            if p.phase == "finishing":
                self._out.write("\n")
        else:
            self._out.write(line + "\n")
        self._out.flush()


def format_summary(s: SyncSummary) -> str:
    people = s.people.added + s.people.updated + s.people.unchanged
    text = (
        f"{s.source}: {people:,} people ({s.people.added:,} added, {s.people.updated:,} updated, "
        f"{s.people.unchanged:,} unchanged), {s.disabled:,} disabled, {s.groups:,} groups "
        f"({s.groups_removed:,} removed) in {s.seconds:.1f} s from {s.url}"
    )
    if s.resumed:
        text += " (resumed an interrupted sync)"
    if s.people.conflicts:
        shown = ", ".join(s.people.conflicts[:5])
        text += f"\n  {len(s.people.conflicts)} login(s) already used by other users, not synced: {shown}"
    return text


def _sync(settings: VecheSettings, source: str | None) -> int:
    from veche.container import Container

    if not settings.directory.sources:
        print("veche directory sync: no directory sources are configured ([directory] sources).", file=sys.stderr)
        return 2
    if source is not None:
        try:
            settings.directory.source(source)
        except KeyError as e:
            print(f"veche directory sync: {e.args[0]}", file=sys.stderr)
            return 2

    async def run() -> list[SyncSummary]:
        container = Container(settings, ["base"])
        try:
            await container.get_database().migrate()
            return await container.get_directory_sync().sync(source, progress=ProgressBar(sys.stderr))
        finally:
            await container.get_database().close()

    try:
        summaries = asyncio.run(run())
    except DirectoryError as e:
        print(f"\nveche directory sync failed: {e.message}", file=sys.stderr)
        print("Nothing was disabled or removed; the next run resumes where this one stopped.", file=sys.stderr)
        return 1
    for summary in summaries:
        print(format_summary(summary))
    return 0


def add_directory_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    settings_for: Callable[[argparse.Namespace], VecheSettings],
) -> None:
    directory = sub.add_parser("directory", help="directory sources (LDAP / Active Directory)")
    commands = directory.add_subparsers(dest="directory_command", required=True)
    sync = commands.add_parser("sync", help="run a full sync now (progress bar and summary)")
    sync.add_argument("--source", help="only this source (default: every configured source)")
    sync.add_argument("--config", help="TOML configuration file")
    sync.add_argument("--data-dir")
    sync.set_defaults(func=lambda args: _sync(settings_for(args), args.source))
