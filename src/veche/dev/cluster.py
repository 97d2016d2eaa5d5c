"""`veche dev cluster`: manager, base, web and N app servers as separate processes on this machine, on a
throwaway PostgreSQL and NATS (or given URLs), for trying the cluster out and for the cluster tests.

With ``ha`` (`veche dev cluster --ha`): two of each role, PostgreSQL as a primary and a synchronous standby under
Patroni (:class:`~veche.dev.patroni.PatroniCluster`) and three routed NATS nodes
(:class:`~veche.dev.nats.ThrowawayNatsCluster`); :meth:`DevCluster.describe` says what runs where and what to kill
to try a switch-over."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from veche.dev.nats import ThrowawayNats, ThrowawayNatsCluster
from veche.dev.ports import free_tcp_port
from veche.dev.postgres import ThrowawayPostgres

if TYPE_CHECKING:
    from veche.dev.patroni import PatroniCluster

__all__ = ["ClusterProcess", "DevCluster"]

READY_TIMEOUT_S = 60.0


@dataclass
class ClusterProcess:
    name: str  # "manager", "base", "web", "app-1", ...
    role: str
    port: int
    config: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class DevCluster:
    root: Path
    apps: int
    http_port: int
    admin_password: str
    database_url: str = ""
    nats_url: str = ""
    auto_approve: bool = True
    # How many of each role (two or more managers: one active, the others standby; docs/operations.md). With one,
    # the process is named after its role ("manager"); with more, "manager-1", "manager-2", ...
    managers: int = 1
    bases: int = 1
    webs: int = 1
    leader_ttl_s: float = 0.0  # the managers' leader lock (0: the default); renewed five times per ttl
    region_of: dict[int, str] = field(default_factory=dict)  # app number -> region
    extra_config: list[str] = field(default_factory=list)  # TOML lines (whole sections) added to every process
    processes: list[ClusterProcess] = field(default_factory=list)
    # Two of each role at least, and (unless URLs are given) Patroni-managed PostgreSQL and three NATS nodes.
    ha: bool = False
    _postgres: ThrowawayPostgres | None = None
    _nats: ThrowawayNats | None = None
    _patroni: PatroniCluster | None = None
    _nats_cluster: ThrowawayNatsCluster | None = None

    def __post_init__(self) -> None:
        if self.ha:
            self.managers, self.bases, self.webs = max(2, self.managers), max(2, self.bases), max(2, self.webs)

    # -- lifecycle --------------------------------------------------------------------------------------------

    def start(self, progress: bool = True) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        say = print if progress else (lambda *a, **k: None)
        if not self.database_url and self.ha:
            from veche.dev.patroni import PatroniCluster

            say("  starting etcd and two PostgreSQL nodes under Patroni …", flush=True)
            self._patroni = PatroniCluster.start()
            self.database_url = self._patroni.url
        if not self.database_url:
            say("  starting a throwaway PostgreSQL …", flush=True)
            self._postgres = ThrowawayPostgres.start()
            self.database_url = self._postgres.url
        if not self.nats_url and self.ha:
            say("  starting three NATS nodes …", flush=True)
            self._nats_cluster = ThrowawayNatsCluster.start(self.root / "nats")
            self.nats_url = self._nats_cluster.url
        if not self.nats_url:
            say("  starting a throwaway NATS …", flush=True)
            self._nats = ThrowawayNats.start(self.root / "nats")
            self.nats_url = self._nats.url
        (self.root / "secret_key").write_text(secrets.token_urlsafe(32) + "\n")
        (self.root / "join_token").write_text(secrets.token_urlsafe(24) + "\n")
        os.chmod(self.root / "secret_key", 0o600)
        os.chmod(self.root / "join_token", 0o600)
        plan = [(name, "manager", free_tcp_port()) for name in _names("manager", self.managers)]
        plan += [(name, "base", free_tcp_port()) for name in _names("base", self.bases)]
        webs = _names("web", self.webs)
        plan += [(name, "web", self.http_port if i == 0 else free_tcp_port()) for i, name in enumerate(webs)]
        plan += [(f"app-{i}", "app", free_tcp_port()) for i in range(1, self.apps + 1)]
        self.processes = [self._prepare(name, role, port) for name, role, port in plan]
        self._create_admin()
        for proc in self.processes:
            self.launch(proc)
            say(f"  {proc.name:<8} pid {proc.pid:<7} {proc.url}", flush=True)
        self.wait_ready()

    def _prepare(self, name: str, role: str, port: int) -> ClusterProcess:
        data_dir = self.root / name
        data_dir.mkdir(parents=True, exist_ok=True)
        number = int(name.split("-")[1]) if name.startswith("app-") else 0
        region = self.region_of.get(number, "default")
        config = data_dir / "veche.toml"
        lines = [
            f'data_dir = "{data_dir}"',
            "[http]",
            'host = "127.0.0.1"',
            f"port = {port}",
            # Plain HTTP: every process listens on 127.0.0.1 only, and http://127.0.0.1 is a secure context (camera
            # and microphone allowed); generated certificates would be one per app server for browsers to trust.
            "tls = false",
            f'public_url = "http://127.0.0.1:{self.http_port}"',
            "[database]",
            f'url = "{self.database_url}"',
            "[bus]",
            f'url = "{self.nats_url}"',
            "[security]",
            f'secret_key_file = "{self.root / "secret_key"}"',
            "[cluster]",
            f'name = "{name}"',
            f'region = "{region}"',
            f'join_token_file = "{self.root / "join_token"}"',
            f"auto_approve = {'true' if self.auto_approve else 'false'}",
        ]
        if self.leader_ttl_s:
            lines += [f"leader_ttl_s = {self.leader_ttl_s}", f"leader_renew_s = {self.leader_ttl_s / 5}"]
        if role == "app":
            lines += ["[signaling]", f'public_url = "ws://127.0.0.1:{port}/ws/v1"']
        lines += self.extra_config
        config.write_text("\n".join(lines) + "\n")
        return ClusterProcess(name=name, role=role, port=port, config=config, log=data_dir / "veche.log")

    def _create_admin(self) -> None:
        password_file = self.root / "admin_password"
        password_file.write_text(self.admin_password + "\n")
        os.chmod(password_file, 0o600)
        web = next(p for p in self.processes if p.role == "web")
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "veche",
                "admin",
                "create-user",
                "admin",
                "--admin",
                "--password-file",
                str(password_file),
                "--config",
                str(web.config),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise RuntimeError(f"creating the admin failed: {result.stderr.strip()}")

    def launch(self, proc: ClusterProcess) -> None:
        """(Re)start one server process."""
        log = proc.log.open("ab")
        proc.process = subprocess.Popen(
            [sys.executable, "-m", "veche", "run", proc.role, "--config", str(proc.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def wait_ready(self, procs: list[ClusterProcess] | None = None, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        for proc in procs or self.processes:
            while True:
                if not proc.alive():
                    raise RuntimeError(f"{proc.name} exited: {self.log_tail(proc)}")
                if _health_answers(f"{proc.url}/api/v1/health"):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{proc.name} did not answer within {timeout_s:g} s: {self.log_tail(proc)}")
                time.sleep(0.1)

    def kill(self, proc: ClusterProcess, sig: int = signal.SIGKILL) -> None:
        if proc.alive():
            assert proc.process is not None
            os.killpg(proc.process.pid, sig)
            proc.process.wait(timeout=30)

    def stop(self) -> None:
        for proc in reversed(self.processes):
            if proc.alive():
                assert proc.process is not None
                os.killpg(proc.process.pid, signal.SIGTERM)
        for proc in self.processes:
            if proc.process is not None:
                try:
                    proc.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.process.pid, signal.SIGKILL)
                    proc.process.wait(timeout=10)
        if self._nats is not None:
            self._nats.stop()
        if self._nats_cluster is not None:
            self._nats_cluster.stop()
        if self._postgres is not None:
            self._postgres.stop()
        if self._patroni is not None:
            self._patroni.stop()

    # -- conveniences -----------------------------------------------------------------------------------------

    def get(self, name: str) -> ClusterProcess:
        return next(p for p in self.processes if p.name == name)

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def web_urls(self) -> list[str]:
        """Every web server's own address (the first one is :attr:`web_url`)."""
        return [p.url for p in self.processes if p.role == "web"]

    def of_role(self, role: str) -> list[ClusterProcess]:
        return [p for p in self.processes if p.role == role]

    @property
    def nats(self) -> ThrowawayNats | None:
        return self._nats

    @property
    def nats_cluster(self) -> ThrowawayNatsCluster | None:
        """The three NATS nodes this cluster started (``ha``, no ``nats_url`` given)."""
        return self._nats_cluster

    @property
    def patroni(self) -> PatroniCluster | None:
        """The Patroni-managed PostgreSQL this cluster started (``ha``, no ``database_url`` given)."""
        return self._patroni

    def describe(self) -> list[str]:
        """Every component's address and pid, the web servers' URLs, and what to kill to try a switch-over."""
        lines = [f"  {p.name:<10} pid {p.pid:<7} {p.url}" for p in self.processes]
        if self._nats_cluster is not None:
            for i, nats in enumerate(self._nats_cluster.nodes):
                pid = nats.process.pid if nats.process else 0
                monitor = self._nats_cluster.monitor_urls[i]
                lines.append(f"  nats-{i + 1:<5} pid {pid:<7} {nats.url}  (monitoring {monitor})")
        primary_kill = ""
        if self._patroni is not None:
            roles = {m.name: m.role for m in self._patroni.members()}
            for node in self._patroni.nodes:
                pid = node.process.pid if node.process else 0
                role = roles.get(node.name, "?")
                lines.append(
                    f"  {node.name:<10} pid {pid:<7} postgresql://127.0.0.1:{node.pg_port}  {role} "
                    f"(Patroni API http://127.0.0.1:{node.api_port}; the pid is its Patroni's session)"
                )
                if role == "leader":
                    postmaster = f"$(head -1 {node.data_dir}/postmaster.pid)"
                    primary_kill = f"kill -9 $(pgrep -s {pid}) $(pgrep -P {postmaster}) {postmaster}"
        lines.append("  web servers (any HTTP balancer in front of them): " + "  ".join(self.web_urls))
        if self.ha:
            lines += [
                "  To try a switch-over, kill -9 one component (GET /api/v1/components shows who took over):",
                "    a manager, base or web server: kill -9 <its pid> (the active manager: the Components page)",
                "    a NATS node: kill -9 <its pid>",
            ]
            if primary_kill:
                lines.append(f"    the PostgreSQL primary (Patroni, postmaster and backends at once): {primary_kill}")
        return lines

    def log_tail(self, proc: ClusterProcess, lines: int = 30) -> str:
        if not proc.log.exists():
            return ""
        return "\n".join(proc.log.read_text(errors="replace").splitlines()[-lines:])


def _names(role: str, count: int) -> list[str]:
    return [role] if count == 1 else [f"{role}-{i}" for i in range(1, count + 1)]


def _health_answers(url: str) -> bool:
    """Whether the health endpoint answers 200 or 503 (the standard library: `veche up`'s install has no httpx)."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return int(response.status) == 200
    except urllib.error.HTTPError as exc:
        return exc.code == 503
    except (OSError, ValueError):
        return False
