"""A throwaway ``nats-server`` for `veche dev cluster`, tests and benchmarks: 127.0.0.1, a free port.

Never the machine's own service. :meth:`ThrowawayNats.kill` and :meth:`ThrowawayNats.restart` let a test
take NATS away and bring it back on the same port. :class:`ThrowawayNatsCluster` is three such servers with
cluster routes to each other (a full mesh) and a monitoring port each (``/varz``, ``/routez``); its
:attr:`~ThrowawayNatsCluster.url` is the comma-separated list of client URLs that ``bus.url`` takes.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from veche.dev.ports import free_tcp_port

__all__ = ["NatsUnavailable", "ThrowawayNats", "ThrowawayNatsCluster"]

_READY_TIMEOUT_S = 10.0
CLUSTER_NAME = "veche"


class NatsUnavailable(Exception):
    """``nats-server`` is missing or did not start; the message says why."""


@dataclass
class ThrowawayNats:
    """A running ``nats-server -js``; :meth:`start` creates it and :meth:`stop` removes every trace."""

    executable: str
    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    # Set by ThrowawayNatsCluster: more command-line options (cluster, routes, name), a monitoring port, and
    # no JetStream (the bus uses core NATS only; clustered JetStream would need a quorum of its own).
    extra_args: list[str] = field(default_factory=list)
    monitor_port: int | None = None
    jetstream: bool = True

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
            "-l", str(self.root / "nats.log"),
        ]  # fmt: skip
        if self.jetstream:
            command += ["-js", "-sd", str(self.root / "jetstream")]
        if self.monitor_port is not None:
            command += ["-m", str(self.monitor_port)]
        command += self.extra_args
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


@dataclass
class ThrowawayNatsCluster:
    """Three (or ``size``) ``nats-server`` processes routed to each other; :meth:`start` waits for the mesh."""

    root: Path
    nodes: list[ThrowawayNats]
    cluster_ports: list[int]
    owns_root: bool = True

    @property
    def url(self) -> str:
        """Every node's client URL, comma separated (what ``bus.url`` takes)."""
        return ",".join(node.url for node in self.nodes)

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    @property
    def monitor_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{node.monitor_port}" for node in self.nodes]

    @classmethod
    def start(cls, root: Path | None = None, size: int = 3) -> ThrowawayNatsCluster:
        """Start ``size`` routed servers in ``root`` (default: a new temporary directory, removed by :meth:`stop`)."""
        executable = shutil.which("nats-server")
        if executable is None:
            raise NatsUnavailable("nats-server not found (apt-get install nats-server)")
        owns_root = root is None
        base = root or Path(tempfile.mkdtemp(prefix="veche-nats-cluster-"))
        base.mkdir(parents=True, exist_ok=True)
        cluster_ports = [free_tcp_port() for _ in range(size)]
        nodes = []
        for i, cluster_port in enumerate(cluster_ports):
            routes = ",".join(f"nats://127.0.0.1:{p}" for p in cluster_ports if p != cluster_port)
            node_root = base / f"node-{i + 1}"
            node_root.mkdir(parents=True, exist_ok=True)
            nodes.append(
                ThrowawayNats(
                    executable=executable,
                    root=node_root,
                    port=free_tcp_port(),
                    monitor_port=free_tcp_port(),
                    jetstream=False,
                    extra_args=_cluster_args(f"nats-{i + 1}", cluster_port, routes),
                )
            )
        cluster = cls(root=base, nodes=nodes, cluster_ports=cluster_ports, owns_root=owns_root)
        try:
            for node in nodes:
                node._launch()
            cluster.wait_routed()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def kill(self, i: int) -> None:
        """SIGKILL node ``i`` (0-based), as a crash would."""
        self.nodes[i].kill()

    def restart(self, i: int) -> None:
        """Start node ``i`` again on its ports and wait until it is routed to the others that run."""
        self.nodes[i].restart()
        self.wait_routed()

    def alive(self, i: int) -> bool:
        process = self.nodes[i].process
        return process is not None and process.poll() is None

    def routes(self, i: int) -> int:
        """How many routes node ``i`` has now (from its /routez); -1 when it does not answer."""
        try:
            with urllib.request.urlopen(f"{self.monitor_urls[i]}/routez", timeout=1) as response:
                return int(json.load(response).get("num_routes", 0))
        except (OSError, ValueError, urllib.error.URLError):
            return -1

    def wait_routed(self, timeout_s: float = _READY_TIMEOUT_S) -> None:
        """Wait until every running node has a route to every other running node."""
        deadline = time.monotonic() + timeout_s
        while True:
            running = [i for i in range(len(self.nodes)) if self.alive(i)]
            if all(self.routes(i) >= len(running) - 1 for i in running):
                return
            if time.monotonic() > deadline:
                raise NatsUnavailable(f"the NATS cluster did not form within {timeout_s:g} s: {self.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop every node; delete the directory if :meth:`start` made it."""
        for node in self.nodes:
            node.stop()
        if self.owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 10) -> str:
        return "\n".join(f"[node {i + 1}] {node.log_tail(lines)}" for i, node in enumerate(self.nodes))


def _cluster_args(name: str, cluster_port: int, routes: str) -> list[str]:
    return [
        "--server_name", name,
        "--cluster_name", CLUSTER_NAME,
        "--cluster", f"nats://127.0.0.1:{cluster_port}",
        "--routes", routes,
    ]  # fmt: skip
