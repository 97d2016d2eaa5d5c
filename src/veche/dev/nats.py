"""A throwaway ``nats-server`` for `veche dev cluster`, tests and benchmarks: 127.0.0.1, a free port.

Never the machine's own service. :meth:`ThrowawayNats.kill` and :meth:`ThrowawayNats.restart` let a test
take NATS away and bring it back on the same port.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from veche.dev.ports import free_tcp_port

__all__ = ["NatsUnavailable", "ThrowawayNats"]

_READY_TIMEOUT_S = 10.0


class NatsUnavailable(Exception):
    """``nats-server`` is missing or did not start; the message says why."""


@dataclass
class ThrowawayNats:
    """A running ``nats-server -js``; :meth:`start` creates it and :meth:`stop` removes every trace."""

    executable: str
    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, root: Path | None = None) -> ThrowawayNats:
        """Start in ``root`` (default: a new temporary directory, removed by :meth:`stop`)."""
        executable = shutil.which("nats-server")
        if executable is None:
            raise NatsUnavailable("nats-server not found (apt-get install nats-server)")
        if root is not None:
            root.mkdir(parents=True, exist_ok=True)
        server = cls(
            executable=executable, root=root or Path(tempfile.mkdtemp(prefix="veche-nats-")), port=free_tcp_port()
        )
        try:
            server._launch()
        except BaseException:
            server.stop()
            raise
        return server

    def kill(self) -> None:
        """SIGKILL the server, as a crash would; the port and the directory stay for :meth:`restart`."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        """Start the server again on the same port (after :meth:`kill`)."""
        self.kill()
        self._launch()

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        path = self.root / "nats.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _launch(self) -> None:
        command = [
            self.executable,
            "-a", "127.0.0.1",
            "-p", str(self.port),
            "-js", "-sd", str(self.root / "jetstream"),
            "-l", str(self.root / "nats.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, cwd=self.root)
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NatsUnavailable(f"nats-server exited with {self.process.returncode}: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise NatsUnavailable(f"nats-server did not listen on {self.port} within {_READY_TIMEOUT_S:g} s")
