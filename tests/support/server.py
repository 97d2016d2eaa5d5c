"""Start the real ``veche up`` as a subprocess, the way an administrator would.

Used by the ``veche_server`` fixture and by ``bench/join.py``. The server gets its own data directory,
a free port on 127.0.0.1 and a first administrator created with ``veche admin create-user``. It serves plain
HTTP (``--no-tls``; http://127.0.0.1 is a secure context for the browsers) unless started with ``tls=True``: then
HTTPS with the certificate ``veche up`` generates, which every request here verifies.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .net import free_tcp_port

__all__ = ["VecheServer", "VecheServerError", "veche_executable"]

_ADMIN_LOGIN = "admin"
_START_TIMEOUT_S = 30.0


class VecheServerError(RuntimeError):
    """The server did not start or answer as expected; the message carries the log tail."""


def veche_executable() -> str:
    """The ``veche`` entry point of the running interpreter's environment (the project's .venv)."""
    beside = Path(sys.executable).parent / "veche"
    if beside.exists():
        return str(beside)
    found = shutil.which("veche")
    if found is None:
        raise VecheServerError(f"no 'veche' executable beside {sys.executable} nor on PATH")
    return found


@dataclass
class VecheServer:
    """A running ``veche up`` with a first administrator; :meth:`stop` kills its whole process group."""

    url: str
    data_dir: Path
    log_path: Path
    admin_login: str
    admin_password: str
    process: subprocess.Popen[bytes]
    admin_token: str = ""
    owns_root: Path | None = None
    ca_file: Path | None = None  # with TLS: the certificate the server generated, the only one trusted here
    _client: httpx.Client | None = field(default=None, repr=False)

    @classmethod
    def start(
        cls,
        *,
        root: Path | None = None,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        timeout_s: float = _START_TIMEOUT_S,
        tls: bool = False,
        host: str = "127.0.0.1",
    ) -> VecheServer:
        """Create the admin, start ``veche up`` and wait until health says ok.

        ``root`` is a directory for the data dir, password file and log (a new temporary one by default,
        removed by :meth:`stop`). ``tls``: HTTPS with the generated certificate (else ``--no-tls``). ``host``:
        the address to listen on and to reach it by.
        """
        owns_root = None
        if root is None:
            root = owns_root = Path(tempfile.mkdtemp(prefix="veche-server-"))
        data_dir = root / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        log_path = root / "veche.log"
        password = secrets.token_urlsafe(18)
        password_file = root / "admin-password"
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        veche = veche_executable()
        process_env = {**os.environ, **(env or {})}

        created = subprocess.run(
            [
                veche,
                "admin",
                "create-user",
                _ADMIN_LOGIN,
                "--password-file",
                str(password_file),
                "--admin",
                "--data-dir",
                str(data_dir),
            ],
            capture_output=True,
            text=True,
            env=process_env,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
        if created.returncode != 0:
            raise VecheServerError(
                f"'veche admin create-user' exited {created.returncode}:\n{created.stdout}{created.stderr}"
            )

        port = free_tcp_port()
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [
                    veche,
                    "up",
                    "--data-dir",
                    str(data_dir),
                    "--host",
                    host,
                    "--http-port",
                    str(port),
                    *(() if tls else ("--no-tls",)),
                    *extra_args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=process_env,
                start_new_session=True,  # its own process group, so stop() reaches Janus too
            )
        server = cls(
            url=f"{'https' if tls else 'http'}://{host}:{port}",
            data_dir=data_dir,
            log_path=log_path,
            admin_login=_ADMIN_LOGIN,
            admin_password=password,
            process=process,
            owns_root=owns_root,
            ca_file=data_dir / "tls" / "cert.pem" if tls else None,
        )
        try:
            server.wait_healthy(timeout_s)
            server.admin_token = server.login(_ADMIN_LOGIN, password)
        except BaseException:
            server.stop()
            raise
        return server

    # -- REST -------------------------------------------------------------------------------------

    def api(self, method: str, path: str, token: str | None = None, json: Any = None) -> httpx.Response:
        """One REST call; ``path`` starts with ``/api/v1``; ``token`` is sent as a bearer token."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http().request(method, self.url + path, headers=headers, json=json)

    def http(self) -> httpx.Client:
        """The client every request goes through; with TLS it trusts only the server's certificate (made when the
        server starts, so the client is made on first use)."""
        if self._client is None:
            verify: ssl.SSLContext | bool = True
            if self.ca_file is not None:
                verify = ssl.create_default_context(cafile=str(self.ca_file))
            self._client = httpx.Client(timeout=30.0, verify=verify)
        return self._client

    def login(self, login: str, password: str) -> str:
        """A bearer token for ``login``."""
        response = self.api("POST", "/api/v1/auth/token", json={"login": login, "password": password})
        if response.status_code != 200:
            raise VecheServerError(f"login as {login!r} failed: {response.status_code} {response.text}")
        return str(response.json()["token"])

    def health(self) -> dict[str, Any]:
        """Health with its details: shown to the cluster's join token (monitoring's credential)."""
        token_file = self.data_dir / "join_token"
        token = token_file.read_text().strip() if token_file.exists() else None
        response = self.api("GET", "/api/v1/health", token=token)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def janus_pid(self) -> int:
        """The pid of the Janus process the server runs, from health's ``media_engine.pid``."""
        pid = self.health()["media_engine"].get("pid")
        if not isinstance(pid, int):
            raise VecheServerError(f"health reports no Janus pid: {self.health()}")
        return pid

    # -- lifecycle --------------------------------------------------------------------------------

    def wait_healthy(self, timeout_s: float = _START_TIMEOUT_S) -> dict[str, Any]:
        """Poll health until the server can take a join; raise with the log tail."""
        deadline = time.monotonic() + timeout_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise VecheServerError(
                    f"'veche up' exited with {self.process.returncode} before it was healthy.\n"
                    f"Last lines of {self.log_path}:\n{self.log_tail()}"
                )
            try:
                body = self.health()
            except (httpx.HTTPError, ValueError, OSError) as exc:  # OSError: no certificate file yet
                last = f"{type(exc).__name__}: {exc}"
            else:
                if _ready(body):
                    return body
                last = f"health said {body}"
            time.sleep(0.1)
        raise VecheServerError(
            f"'veche up' was not healthy within {timeout_s:.0f} s ({last}).\n"
            f"Last lines of {self.log_path}:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after 10 s, then remove a temporary root."""
        if self._client is not None:
            self._client.close()
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # Children (Janus) may outlive the leader: always sweep the group.
        _signal_group(self.process.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(timeout=10)
        if self.owns_root is not None:
            shutil.rmtree(self.owns_root, ignore_errors=True)


def _ready(health: dict[str, Any]) -> bool:
    """Status ok, the media engine up, and every server it lists (this one) placed as "up"."""
    servers = health.get("servers") or []
    return (
        health.get("status") == "ok"
        and bool(health.get("media_engine", {}).get("up"))
        and all(server.get("status") == "up" for server in servers)
    )


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass
