"""A throwaway PostgreSQL server for `veche dev cluster`, a test session or a benchmark.

``initdb`` + ``pg_ctl`` on a free port in a temporary directory; never the machine's own service.
As root, ``initdb`` refuses to run, so the cluster is created and run by the ``postgres`` system user
(through ``runuser``) in a directory that user owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from veche.dev.ports import free_tcp_port

__all__ = ["PostgresUnavailable", "ThrowawayPostgres", "find_postgres_bin"]

_USER = "veche"
_DATABASE = "veche"


class PostgresUnavailable(Exception):
    """PostgreSQL binaries (or a user to run them as) are missing; the message says what to install."""


def find_postgres_bin() -> Path:
    """The newest ``/usr/lib/postgresql/<major>/bin`` holding initdb and pg_ctl."""
    candidates = glob.glob("/usr/lib/postgresql/*/bin")

    def major(path: str) -> int:
        version = Path(path).parent.name
        return int(version) if version.isdigit() else 0

    for directory in sorted(candidates, key=major, reverse=True):
        if os.access(os.path.join(directory, "initdb"), os.X_OK) and os.access(
            os.path.join(directory, "pg_ctl"), os.X_OK
        ):
            return Path(directory)
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    raise PostgresUnavailable(
        "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
    )


@dataclass
class ThrowawayPostgres:
    """A running private cluster; :meth:`start` creates it and :meth:`stop` removes every trace."""

    bin_dir: Path
    root: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        """SQLAlchemy URL (asyncpg driver) of the test database; trust authentication, no password."""
        return f"postgresql+asyncpg://{_USER}@127.0.0.1:{self.port}/{_DATABASE}"

    @property
    def dsn(self) -> str:
        """The same database as a libpq/asyncpg DSN."""
        return f"postgresql://{_USER}@127.0.0.1:{self.port}/{_DATABASE}"

    @classmethod
    def start(cls) -> ThrowawayPostgres:
        """Create and start a cluster with an empty database ``veche`` owned by superuser ``veche``, in a new
        temporary directory (the ``postgres`` user must reach it when running as root)."""
        bin_dir = find_postgres_bin()
        run_as = _run_as_prefix()
        root = Path(tempfile.mkdtemp(prefix="veche-pg-"))
        if run_as:
            pw = pwd.getpwnam("postgres")
            os.chown(root, pw.pw_uid, pw.pw_gid)
        server = cls(bin_dir=bin_dir, root=root, port=free_tcp_port())
        try:
            server._run(
                run_as,
                "initdb",
                "-D",
                str(server.data_dir),
                "-U",
                _USER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            )
            options = (
                f"-p {server.port} -c listen_addresses=127.0.0.1 -k {root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            server._run(
                run_as,
                "pg_ctl",
                "-D",
                str(server.data_dir),
                "-l",
                str(root / "postgres.log"),
                "-o",
                options,
                "-w",
                "-t",
                "30",
                "start",
            )
            server._run(run_as, "createdb", "-h", "127.0.0.1", "-p", str(server.port), "-U", _USER, _DATABASE)
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory."""
        if (self.data_dir / "postmaster.pid").exists():
            try:
                self._run(_run_as_prefix(), "pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        path = self.root / "postgres.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _run(self, run_as: list[str], program: str, *args: str) -> None:
        executable = self.bin_dir / program
        if not executable.exists():
            found = shutil.which(program)
            if found is None:
                raise PostgresUnavailable(f"{program} not found next to {self.bin_dir / 'initdb'}")
            executable = Path(found)
        result = subprocess.run(
            [*run_as, str(executable), *args],
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise subprocess.CalledProcessError(
                result.returncode,
                result.args,
                output=result.stdout,
                stderr=f"{result.stderr}\n{self.log_tail()}",
            )


def _run_as_prefix() -> list[str]:
    """``runuser -u postgres --`` when running as root (initdb refuses root), else nothing."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise PostgresUnavailable("running as root but there is no 'postgres' system user") from exc
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresUnavailable("running as root but runuser (util-linux) is missing")
    return [runuser, "-u", "postgres", "--"]
