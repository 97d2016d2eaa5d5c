"""The engine's link to Janus: one session (plus a control handle) that outlives Janus restarts.

:class:`JanusConnection` runs the Janus child (unless ``ws_url`` points at an external Janus),
opens the WebSocket, the session and a VideoRoom control handle. Whenever Janus goes away (the
child died, the socket closed, the session timed out, Janus forgot the session) the connection is
*down*: ``on_down`` runs at once so the owner forgets every handle, and a recovery task reconnects
(after the child was restarted, or with a backoff for an external Janus). Once a new session is
open the epoch increases and ``on_restored`` runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from veche.app.janus.client import JanusClient, JanusConnectionLost, JanusError, JanusHandle, JanusSession, JanusTimeout
from veche.app.janus.process import JanusProcess
from veche.app.janus.version import check_engine_version
from veche.app.media_engine import MediaEngineError, MediaEngineUnavailable
from veche.config.janus import JanusConfig

__all__ = ["VIDEOROOM", "JanusConnection"]

logger = logging.getLogger(__name__)

VIDEOROOM = "janus.plugin.videoroom"
_RECONNECT_BACKOFF_INITIAL_S = 0.2
_CLOSE_TIMEOUT_S = 2.0
_RESTARTING = "the media engine is restarting; retry after media_reset"


class JanusConnection:
    """A Janus session kept open across restarts, with an epoch that counts them."""

    def __init__(
        self,
        config: JanusConfig,
        data_dir: Path,
        *,
        on_down: Callable[[], None],
        on_restored: Callable[[], Awaitable[None]],
    ) -> None:
        self.config = config
        self.process: JanusProcess | None = None
        if config.runs_child:
            self.process = JanusProcess(
                config, data_dir, on_exit=self._on_process_exit, on_restart=self._on_process_restart
            )
        self._on_down = on_down
        self._on_restored = on_restored
        self._client: JanusClient | None = None
        self._session: JanusSession | None = None
        self._control: JanusHandle | None = None
        self.version = "unknown"
        self.epoch = 0
        self.up = False
        self._stopping = False
        self._janus_running = asyncio.Event()  # child mode: set while the child answers
        self._recovery: asyncio.Task[None] | None = None
        self._down_count = 0
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def api_secret(self) -> str | None:
        """The Janus API secret in use (None for an external Janus without one)."""
        if self.process is not None:
            return self.process.api_secret
        return self.config.read_api_secret()

    @property
    def session(self) -> JanusSession:
        """The open session; raises :class:`MediaEngineUnavailable` while down."""
        if not self.up or self._session is None:
            raise MediaEngineUnavailable(_RESTARTING)
        return self._session

    @property
    def control(self) -> JanusHandle:
        """The VideoRoom handle used for room-level requests (create, destroy, moderate)."""
        if not self.up or self._control is None:
            raise MediaEngineUnavailable(_RESTARTING)
        return self._control

    def require_up(self) -> None:
        if not self.up:
            raise MediaEngineUnavailable(_RESTARTING)

    async def start(self) -> None:
        """Start the child if any, open the session; epoch 1."""
        if self.up:
            return
        self._stopping = False
        if self.process is not None:
            await self.process.start()
            self._janus_running.set()
        try:
            await self._open()
        except BaseException:
            await self.stop()
            raise
        self.epoch = 1
        self.up = True
        logger.info("media engine up: Janus %s, epoch %s", self.version, self.epoch)

    async def stop(self) -> None:
        """Close the session and the socket, stop the child; no recovery afterwards."""
        self._stopping = True
        self.up = False
        recovery, self._recovery = self._recovery, None
        if recovery is not None:
            recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recovery
        session, client = self._session, self._client
        self._client = self._session = self._control = None
        if session is not None:
            with contextlib.suppress(JanusConnectionLost, JanusTimeout, JanusError):
                await session.destroy(timeout=_CLOSE_TIMEOUT_S)
        if client is not None:
            await client.close()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        if self.process is not None:
            await self.process.stop()
            self._janus_running.clear()

    def go_down(self, reason: str) -> None:
        """Janus is gone: fail fast from now on, let the owner forget its handles, and recover."""
        if self._stopping:
            return
        if self.up:
            logger.warning("media engine down (epoch %s): %s", self.epoch, reason)
        self.up = False
        self._down_count += 1
        self._drop_connection()
        try:
            self._on_down()
        except Exception:
            logger.exception("media engine down callback failed")
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.get_running_loop().create_task(self._recover(), name="janus-recovery")

    async def _open(self) -> None:
        """Connect, open a session and attach the control handle."""
        if self.process is not None:
            url = self.process.ws_url
        else:
            assert self.config.ws_url is not None
            url = self.config.ws_url
        client = JanusClient(
            url,
            api_secret=self.api_secret,
            request_timeout=self.config.request_timeout_s,
            on_connection_lost=lambda: self.go_down("connection to Janus lost"),
        )
        try:
            await client.connect(timeout=self.config.request_timeout_s)
            info = await client.info()
            version = check_engine_version(info, where=self._where(url))
            if VIDEOROOM not in (info.get("plugins") or {}):
                raise MediaEngineError("Janus does not have the VideoRoom plugin")
            session = await client.create_session(
                keepalive_interval=self.config.keepalive_interval_s,
                on_timeout=lambda: self.go_down("Janus session timed out"),
            )
            control = await session.attach(VIDEOROOM, on_event=_log_control_event)
        except (JanusConnectionLost, JanusTimeout, JanusError) as exc:
            await client.close()
            raise MediaEngineUnavailable(f"cannot open a Janus session at {url}: {exc}") from exc
        except BaseException:
            await client.close()
            raise
        self.version = version
        self._client, self._session, self._control = client, session, control

    def _where(self, url: str) -> str:
        return self.config.binary if self.process is not None else url

    def _drop_connection(self) -> None:
        client = self._client
        self._client = self._session = self._control = None
        if client is not None:
            task = asyncio.get_running_loop().create_task(client.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def _on_process_exit(self) -> None:
        self._janus_running.clear()
        self.go_down("Janus exited")

    async def _on_process_restart(self, epoch: int) -> None:
        logger.info("Janus child restarted (process epoch %s)", epoch)
        self._janus_running.set()

    async def _recover(self) -> None:
        """Reconnect until Janus answers, then bump the epoch and run ``on_restored``.

        ``_down_count`` tells whether Janus went away again meanwhile (while connecting or while
        ``on_restored`` ran); then the work starts over rather than leaving a dead session behind.
        """
        delay = _RECONNECT_BACKOFF_INITIAL_S
        while not self._stopping:
            seen = self._down_count
            if self.process is not None:
                await self._janus_running.wait()
            try:
                await self._open()
            except MediaEngineError as exc:
                logger.info("reconnecting to Janus failed (retrying in %.1f s): %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.restart_backoff_max_s)
                continue
            if self._down_count != seen:
                self._drop_connection()
                continue
            self.epoch += 1
            self.up = True
            logger.warning("media engine back up: epoch %s", self.epoch)
            try:
                await self._on_restored()
            except Exception:
                logger.exception("media engine restore callback failed")
            if self._down_count == seen:
                return
            delay = _RECONNECT_BACKOFF_INITIAL_S


def _log_control_event(event: dict[str, Any]) -> None:
    logger.debug("control handle: Janus event %s", event.get("janus"))
