"""Run Janus as a supervised child process with a configuration Veche generates.

At every start the configuration is rewritten in ``<data_dir>/janus/conf`` (see
:mod:`veche.app.janus.config_files`) with the WebSocket API on a free port of 127.0.0.1. Janus's
output goes to ``<data_dir>/janus/janus.log`` through a pipe that masks the API secret (Janus prints
it from debug level 5 on). If the child dies without being asked to, it is restarted with a backoff
(0.2 s doubling up to ``restart_backoff_max_s``) and the new epoch is reported to ``on_restart``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from veche.app.janus.client import JanusConnectionLost, JanusError, JanusTimeout, fetch_server_info
from veche.app.janus.config_files import render_janus_config
from veche.app.media_engine import MediaEngineUnavailable
from veche.config.janus import JanusConfig

__all__ = ["JanusProcess", "JanusStartError"]

logger = logging.getLogger(__name__)

_RESTART_BACKOFF_INITIAL_S = 0.2
_STABLE_AFTER_S = 10.0  # a child that ran this long resets the restart backoff
_LOG_ROTATE_BYTES = 8 * 1024 * 1024
_LOG_TAIL_BYTES = 3000
_LOG_CHUNK_BYTES = 65536
_PROBE_INTERVAL_S = 0.05


ExitCallback = Callable[[], None]
RestartCallback = Callable[[int], Awaitable[None]]


class JanusStartError(MediaEngineUnavailable):
    """Janus did not start or did not answer in time; the message ends with the tail of janus.log."""


def _free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL if Veche dies, so no Janus is ever orphaned."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG


class JanusProcess:
    """A Janus child process: generated config, readiness check, supervision and restarts."""

    def __init__(
        self,
        config: JanusConfig,
        data_dir: Path,
        *,
        on_exit: ExitCallback | None = None,
        on_restart: RestartCallback | None = None,
    ) -> None:
        self.config = config
        self.base_dir = Path(data_dir).absolute() / "janus"  # Janus runs in it and reads its files by this path
        self.conf_dir = self.base_dir / "conf"
        self.log_path = self.base_dir / "janus.log"
        self._on_exit = on_exit
        self._on_restart = on_restart
        self._api_secret: str | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._ws_port: int | None = None
        self._admin_port: int | None = None
        self._started_at = 0.0
        self._epoch = 0
        self._up = False
        self._stopping = False
        self._watcher: asyncio.Task[None] | None = None
        self._log_pump: asyncio.Task[None] | None = None
        self.version: str | None = None

    @property
    def pid(self) -> int | None:
        """The running child's process id (None while down)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    @property
    def epoch(self) -> int:
        """1 after the first start, +1 after each restart."""
        return self._epoch

    @property
    def up(self) -> bool:
        return self._up

    @property
    def ws_url(self) -> str:
        if self._ws_port is None:
            raise JanusStartError("Janus has not been started")
        return f"ws://127.0.0.1:{self._ws_port}"

    @property
    def admin_ws_url(self) -> str | None:
        """The admin API (media counters for the call history); it takes the API secret as its admin secret."""
        return f"ws://127.0.0.1:{self._admin_port}" if self._admin_port is not None else None

    @property
    def api_secret(self) -> str:
        if self._api_secret is None:
            self._api_secret = self._load_or_create_secret()
        return self._api_secret

    async def start(self) -> None:
        """Start Janus and return once it answers; raises :class:`JanusStartError` otherwise."""
        if self._watcher is not None:
            return
        self._stopping = False
        await self._spawn_and_wait()
        self._epoch = 1
        self._watcher = asyncio.create_task(self._watch(), name="janus-watcher")

    async def stop(self) -> None:
        """SIGTERM the child, SIGKILL it after ``stop_timeout_s``; no restart afterwards."""
        self._stopping = True
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await self._terminate()
        self._up = False

    def tail_log(self, max_bytes: int = _LOG_TAIL_BYTES) -> str:
        """The end of janus.log, with the API secret masked."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(0, os.SEEK_END)
                size = log.tell()
                log.seek(max(0, size - max_bytes))
                text = log.read().decode("utf-8", errors="replace")
        except OSError:
            return "(janus.log is missing)"
        if self._api_secret:
            text = text.replace(self._api_secret, "***")
        return text

    def _load_or_create_secret(self) -> str:
        configured = self.config.read_api_secret()
        if configured is not None:
            return configured
        path = self.base_dir / "api_secret"
        self.base_dir.mkdir(parents=True, exist_ok=True)
        try:
            existing = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            existing = ""
        if existing:
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
            return existing
        secret = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secret + "\n")
        logger.info("generated a new Janus API secret in %s", path)
        return secret

    def _write_config(self) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base_dir, 0o700)
        os.chmod(self.conf_dir, 0o700)
        assert self._ws_port is not None
        try:
            files = render_janus_config(
                self.config,
                conf_dir=self.conf_dir,
                ws_port=self._ws_port,
                api_secret=self.api_secret,
                admin_port=self._admin_port,
            )
        except FileNotFoundError as exc:
            raise JanusStartError(str(exc)) from exc
        for stale in self.conf_dir.glob("*.jcfg"):
            if stale.name not in files:
                stale.unlink()
        for name, text in files.items():
            path = self.conf_dir / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)

    def _open_log(self) -> int:
        with contextlib.suppress(OSError):
            if self.log_path.stat().st_size > _LOG_ROTATE_BYTES:
                os.replace(self.log_path, self.log_path.with_suffix(".log.1"))
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        os.write(fd, f"\n===== Veche starts Janus at {stamp} (ws port {self._ws_port}) =====\n".encode())
        return fd

    async def _pump_log(self, stream: asyncio.StreamReader, fd: int) -> None:
        """Copy Janus's output to janus.log with the API secret masked (Janus prints it at level >= 5)."""
        secret = self.api_secret.encode()
        pending = b""
        try:
            while True:
                chunk = await stream.read(_LOG_CHUNK_BYTES)
                if not chunk:
                    break
                pending += chunk
                cut = pending.rfind(b"\n") + 1
                if cut == 0 and len(pending) < _LOG_CHUNK_BYTES * 16:
                    continue  # keep a partial line so the secret is never split across two writes
                if cut == 0:
                    cut = len(pending)
                os.write(fd, pending[:cut].replace(secret, b"***"))
                pending = pending[cut:]
            if pending:
                os.write(fd, pending.replace(secret, b"***"))
        except OSError as exc:
            logger.warning("cannot write %s: %s", self.log_path, exc)
        finally:
            os.close(fd)

    async def _spawn_and_wait(self) -> None:
        self._ws_port = _free_tcp_port()
        self._admin_port = _free_tcp_port()
        self._write_config()
        argv = [self.config.binary, "-F", str(self.conf_dir), "-C", str(self.conf_dir / "janus.jcfg")]
        log_fd = self._open_log()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                cwd=self.base_dir,
                start_new_session=True,  # Ctrl-C in a terminal must not reach Janus behind our back
                preexec_fn=_die_with_parent,
            )
        except OSError as exc:
            os.close(log_fd)
            raise JanusStartError(f"cannot run Janus ({self.config.binary!r}): {exc.strerror or exc}") from exc
        assert proc.stdout is not None
        self._proc = proc
        self._log_pump = asyncio.create_task(self._pump_log(proc.stdout, log_fd), name="janus-log")
        self._started_at = time.monotonic()
        logger.info("started Janus (pid %s, ws port %s)", proc.pid, self._ws_port)
        try:
            await self._wait_ready(proc)
        except BaseException:
            await self._terminate()
            raise
        self._up = True

    async def _drain_log(self) -> None:
        pump = self._log_pump
        if pump is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(pump), 1.0)

    async def _wait_ready(self, proc: asyncio.subprocess.Process) -> None:
        deadline = time.monotonic() + self.config.start_timeout_s
        last_error = "no answer"
        while True:
            if proc.returncode is not None:
                await self._drain_log()
                raise JanusStartError(
                    f"Janus exited with status {proc.returncode} while starting; end of "
                    f"{self.log_path}:\n{self.tail_log()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                await self._terminate()  # also waits for its last output, for the tail below
                raise JanusStartError(
                    f"Janus did not answer on {self.ws_url} within {self.config.start_timeout_s:g} s "
                    f"({last_error}); end of {self.log_path}:\n{self.tail_log()}"
                )
            try:
                info = await fetch_server_info(
                    self.ws_url, api_secret=self.api_secret, timeout=min(max(remaining, 0.05), 2.0)
                )
            except (JanusConnectionLost, JanusTimeout, JanusError) as exc:
                last_error = str(exc)
                await asyncio.sleep(_PROBE_INTERVAL_S)
                continue
            self.version = str(info.get("version_string", "")) or None
            plugins = info.get("plugins") or {}
            if "janus.plugin.videoroom" not in plugins:
                raise JanusStartError(
                    f"Janus started without the VideoRoom plugin; end of {self.log_path}:\n{self.tail_log()}"
                )
            return

    async def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), self.config.stop_timeout_s)
            except TimeoutError:
                logger.warning(
                    "Janus (pid %s) ignored SIGTERM for %g s; killing it",
                    proc.pid,
                    self.config.stop_timeout_s,
                )
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        await self._drain_log()

    async def _watch(self) -> None:
        delay = _RESTART_BACKOFF_INITIAL_S
        while True:
            proc = self._proc
            assert proc is not None
            status = await proc.wait()
            if self._stopping:
                return
            self._up = False
            await self._drain_log()
            uptime = time.monotonic() - self._started_at
            logger.error("Janus (pid %s) exited unexpectedly with status %s after %.1f s", proc.pid, status, uptime)
            if self._on_exit is not None:
                try:
                    self._on_exit()
                except Exception:
                    logger.exception("Janus exit callback failed")
            if uptime >= _STABLE_AFTER_S:
                delay = _RESTART_BACKOFF_INITIAL_S
            while True:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.restart_backoff_max_s)
                try:
                    await self._spawn_and_wait()
                    break
                except JanusStartError as exc:
                    logger.error("restarting Janus failed: %s", exc)
            self._epoch += 1
            logger.warning("Janus restarted (pid %s, epoch %s)", self.pid, self._epoch)
            if self._on_restart is not None:
                try:
                    await self._on_restart(self._epoch)
                except Exception:
                    logger.exception("Janus restart callback failed")
