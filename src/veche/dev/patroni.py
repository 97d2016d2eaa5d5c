"""A throwaway highly available PostgreSQL: one etcd and two PostgreSQL nodes under Patroni, on this machine.

For the database fail-over tests and trying a switch-over out; never the machine's own services. Debian's packages:
etcd-server (``/usr/bin/etcd``, 3.4), patroni (``/usr/bin/patroni``, 3.0.2) and postgresql (15). Patroni runs with
``synchronous_mode``, so a commit is acknowledged only once the standby has it: a primary that crashes loses no
acknowledged write. As root, Patroni (and so PostgreSQL) runs as the ``postgres`` system user, like
:mod:`veche.dev.postgres`. Each node's Patroni and PostgreSQL log goes to ``<root>/<node>/patroni.log``.

Killing a node kills its Patroni *and* every PostgreSQL process of it: killing only the postmaster left a backend
acknowledging writes (docs/operations.md, "Database high availability").
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from veche.dev.ports import free_tcp_port
from veche.dev.postgres import PostgresUnavailable, _run_as_prefix, find_postgres_bin

__all__ = ["Member", "PatroniCluster", "PatroniUnavailable"]

_USER = "veche"
_DATABASE = "veche"
_NODES = ("pg1", "pg2")
START_TIMEOUT_S = 90.0
ETCD = "/usr/bin/etcd"
PATRONI = "/usr/bin/patroni"


class PatroniUnavailable(Exception):
    """etcd, Patroni or PostgreSQL is not installed; the message says what to install."""


@dataclass(frozen=True)
class Member:
    """One node as Patroni's REST API describes it."""

    name: str
    role: str  # "leader", "sync_standby", "replica"
    state: str  # "running", "streaming", "starting", "stopped", ...
    lag: int | None  # bytes of WAL behind the leader (None for the leader or when unknown)


@dataclass
class _Node:
    name: str
    pg_port: int
    api_port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.directory / "patroni.yml"

    @property
    def log(self) -> Path:
        return self.directory / "patroni.log"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"


@dataclass
class PatroniCluster:
    """A running etcd + two Patroni nodes; :meth:`start` creates it and :meth:`stop` removes every trace."""

    root: Path
    etcd_port: int
    nodes: list[_Node]
    run_as: list[str]
    _etcd: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    # -- lifecycle --------------------------------------------------------------------------------------------

    @classmethod
    def start(cls) -> PatroniCluster:
        """Start etcd, then the first node (it bootstraps the primary), then the second (a copy of it); return
        once the primary accepts writes and the standby is synchronous."""
        for program, package in ((ETCD, "etcd-server"), (PATRONI, "patroni")):
            if not os.access(program, os.X_OK):
                raise PatroniUnavailable(f"{program} not found (apt-get install {package})")
        try:
            bin_dir = find_postgres_bin()
            run_as = _run_as_prefix()
        except PostgresUnavailable as exc:
            raise PatroniUnavailable(str(exc)) from exc
        root = Path(tempfile.mkdtemp(prefix="veche-patroni-"))
        owner = pwd.getpwnam("postgres") if run_as else None
        nodes = [_Node(name, free_tcp_port(), free_tcp_port(), root / name) for name in _NODES]
        cluster = cls(root=root, etcd_port=free_tcp_port(), nodes=nodes, run_as=run_as)
        try:
            if owner is not None:  # the postgres user must reach its nodes' directories
                os.chown(root, owner.pw_uid, owner.pw_gid)
            scope = f"veche-{secrets.token_hex(4)}"
            for node in nodes:
                node.directory.mkdir(mode=0o700)
                node.config.write_text(json.dumps(_patroni_config(scope, node, cluster.etcd_port, bin_dir), indent=2))
                if owner is not None:
                    for path in (node.directory, node.config):
                        os.chown(path, owner.pw_uid, owner.pw_gid)
            cluster._start_etcd()
            cluster._launch(nodes[0])
            cluster._wait(lambda m: any(x.role == "leader" and x.state == "running" for x in m), "a primary")
            cluster._create_database()
            cluster._launch(nodes[1])
            cluster.wait_synchronous()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def stop(self) -> None:
        """Stop both nodes (Patroni stops its PostgreSQL), then etcd, and delete the directory."""
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                os.killpg(node.process.pid, signal.SIGTERM)
        for node in self.nodes:
            if node.process is not None:
                try:
                    node.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    pass
            self._kill_all(node)
        if self._etcd is not None and self._etcd.poll() is None:
            self._etcd.terminate()
            try:
                self._etcd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._etcd.kill()
                self._etcd.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    # -- what tests and `veche dev cluster` use ---------------------------------------------------------------

    @property
    def url(self) -> str:
        """SQLAlchemy URL naming every node; asyncpg connects to whichever accepts writes."""
        hosts = "&".join(f"host=127.0.0.1:{node.pg_port}" for node in self.nodes)
        return f"postgresql+asyncpg://{_USER}@/{_DATABASE}?{hosts}&target_session_attrs=read-write"

    def node_url(self, name: str) -> str:
        """SQLAlchemy URL of one node only (to read what a standby holds)."""
        return f"postgresql+asyncpg://{_USER}@127.0.0.1:{self._node(name).pg_port}/{_DATABASE}"

    def members(self) -> list[Member]:
        """Every node with its role, state and lag, from the REST API of any node that answers."""
        for node in self.nodes:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{node.api_port}/cluster", timeout=2) as response:
                    document: dict[str, Any] = json.loads(response.read())
            except (OSError, ValueError):
                continue
            return [
                Member(
                    name=str(m["name"]),
                    role=str(m.get("role", "")),
                    state=str(m.get("state", "")),
                    lag=m["lag"] if isinstance(m.get("lag"), int) else None,
                )
                for m in document.get("members", [])
            ]
        return []

    def primary(self) -> str | None:
        """The name of the node that is the running primary now, if any."""
        return next((m.name for m in self.members() if m.role == "leader" and m.state == "running"), None)

    def kill_node(self, name: str) -> None:
        """kill -9 the node: its Patroni and every PostgreSQL process (postmaster and backends) at once."""
        self._kill_all(self._node(name))

    def restart_node(self, name: str) -> None:
        """Start a killed node's Patroni again on its data directory; it rejoins as a standby of the primary."""
        node = self._node(name)
        if node.process is not None and node.process.poll() is None:
            raise RuntimeError(f"{name} is running")
        self._launch(node)

    def wait_synchronous(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Wait until there is a running primary and a streaming synchronous standby."""

        def ready(members: list[Member]) -> bool:
            primary = any(m.role == "leader" and m.state == "running" for m in members)
            standby = any(m.role == "sync_standby" and m.state in ("streaming", "running") for m in members)
            return primary and standby

        self._wait(ready, "a primary and a synchronous standby", timeout_s)

    def log_tail(self, name: str | None = None, lines: int = 30) -> str:
        """The last lines of one node's log (Patroni and its PostgreSQL), or of every node's and etcd's."""
        paths = [self._node(name).log] if name else [*(n.log for n in self.nodes), self.root / "etcd.log"]
        parts = []
        for path in paths:
            if path.exists():
                text = "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
                parts.append(f"--- {path.parent.name}/{path.name}\n{text}")
        return "\n".join(parts)

    # -- internals --------------------------------------------------------------------------------------------

    def _node(self, name: str) -> _Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def _start_etcd(self) -> None:
        peer = free_tcp_port()
        client = f"http://127.0.0.1:{self.etcd_port}"
        log = (self.root / "etcd.log").open("ab")
        self._etcd = subprocess.Popen(
            [
                ETCD,
                "--name=veche",
                f"--data-dir={self.root / 'etcd'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=veche=http://127.0.0.1:{peer}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(f"{client}/health"):
            if self._etcd.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"etcd did not start: {self.log_tail()}")
            time.sleep(0.1)

    def _launch(self, node: _Node) -> None:
        log = node.log.open("ab")
        node.process = subprocess.Popen(
            [*self.run_as, PATRONI, str(node.config)],
            cwd=node.directory,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def _create_database(self) -> None:
        node = self._node(self._primary_or_fail())
        createdb = find_postgres_bin() / "createdb"
        subprocess.run(
            [str(createdb), "-h", "127.0.0.1", "-p", str(node.pg_port), "-U", _USER, _DATABASE],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def _primary_or_fail(self) -> str:
        name = self.primary()
        if name is None:
            raise RuntimeError(f"no primary: {self.log_tail()}")
        return name

    def _wait(self, accept: Callable[[list[Member]], bool], what: str, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            members = self.members()
            if accept(members):
                return
            dead = [n.name for n in self.nodes if n.process is not None and n.process.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(f"waiting for {what}: members {members}, exited {dead}\n{self.log_tail()}")
            time.sleep(0.2)

    def _kill_all(self, node: _Node) -> None:
        """SIGSTOP then SIGKILL the node's Patroni and PostgreSQL process trees: stopped first, so no backend
        acknowledges anything, and nothing forks, between the first kill and the last."""
        roots = [node.process.pid] if node.process is not None and node.process.poll() is None else []
        postmaster = _postmaster_pid(node.data_dir)
        if postmaster is not None:
            roots.append(postmaster)
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in _with_descendants(roots):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        if node.process is not None:
            try:
                node.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def _patroni_config(scope: str, node: _Node, etcd_port: int, bin_dir: Path) -> dict[str, Any]:
    """Patroni's YAML configuration (JSON is YAML). Trust authentication on 127.0.0.1: a throwaway cluster."""
    return {
        "scope": scope,
        "namespace": "/veche/",
        "name": node.name,
        "log": {"level": "INFO"},
        "restapi": {"listen": f"127.0.0.1:{node.api_port}", "connect_address": f"127.0.0.1:{node.api_port}"},
        "etcd3": {"hosts": [f"127.0.0.1:{etcd_port}"]},
        "bootstrap": {
            "dcs": {
                "ttl": 10,
                "loop_wait": 1,
                "retry_timeout": 5,
                "maximum_lag_on_failover": 1048576,
                "synchronous_mode": True,
                "postgresql": {
                    "use_pg_rewind": True,
                    "remove_data_directory_on_rewind_failure": True,
                    "remove_data_directory_on_diverged_timelines": True,
                    "parameters": {
                        "wal_level": "replica",
                        "hot_standby": "on",
                        "wal_log_hints": "on",
                        "max_wal_senders": 5,
                        "max_replication_slots": 5,
                        "fsync": "off",  # a process crash, not a power cut: the page cache keeps what was written
                        "full_page_writes": "on",  # pg_rewind needs them
                    },
                },
            },
            "initdb": [{"encoding": "UTF8"}, {"locale": "C"}, {"auth": "trust"}],
            "pg_hba": [
                "local all all trust",
                "host all all 127.0.0.1/32 trust",
                "host replication all 127.0.0.1/32 trust",
            ],
        },
        "postgresql": {
            "listen": f"127.0.0.1:{node.pg_port}",
            "connect_address": f"127.0.0.1:{node.pg_port}",
            "data_dir": str(node.data_dir),
            "bin_dir": str(bin_dir),
            "pgpass": str(node.directory / "pgpass"),
            "basebackup": {"checkpoint": "fast"},  # a spread checkpoint holds the standby's copy for minutes
            "authentication": {
                "superuser": {"username": _USER},
                "replication": {"username": "replicator"},
                "rewind": {"username": _USER},
            },
            "parameters": {"unix_socket_directories": str(node.directory), "listen_addresses": "127.0.0.1"},
        },
    }


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        first = (data_dir / "postmaster.pid").read_text().split("\n", 1)[0].strip()
    except (FileNotFoundError, PermissionError):
        return None
    if not first.isdigit():
        return None
    try:  # a stale file's pid may belong to another process by now; the postmaster works in its data directory
        if Path(os.readlink(f"/proc/{first}/cwd")).resolve() != data_dir.resolve():
            return None
    except OSError:
        return None
    return int(first)


def _with_descendants(roots: list[int]) -> list[int]:
    """``roots`` and every process below them, parents first (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found: list[int] = []
    pending = list(roots)
    while pending:
        pid = pending.pop(0)
        if pid in found:
            continue
        found.append(pid)
        pending += children.get(pid, [])
    return found


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False
