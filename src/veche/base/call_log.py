"""The base role's half of the call history: stores what app servers send, and closes what dead servers left open.

App servers send every participant session (:mod:`veche.app.call_log_sender`) until this service acknowledges it;
the store keeps the newest revision of each, so a resend after a base restart counts nothing twice. A server that
dies cannot say its participants left: when its death becomes known — no heartbeat for 3 s
(:func:`veche.domain.call_history.dead_servers`), or it comes back as a new incarnation — its open sessions are
closed at that moment.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from veche.base.work_once import WorkOnce, work_key
from veche.bus.base import Bus
from veche.bus.messages import BusMessage, CallSessionRecord, CommandResult, RecordCallSessions, ServerHeartbeat
from veche.domain.call_history import (
    CLOSED_BY_SERVER_DOWN,
    ClientKind,
    MediaCounters,
    SessionRecord,
    dead_servers,
)
from veche.storage.call_history import CallHistoryStore
from veche.storage.unavailable import DatabaseOutageLog

__all__ = ["CallLog", "from_wire"]

logger = logging.getLogger(__name__)

SWEEP_S = 1.0
PURGE_EVERY_MS = 3_600_000


def _wall_ms() -> int:
    return int(time.time() * 1000)


class CallLog:
    def __init__(
        self,
        bus: Bus,
        store: CallHistoryStore,
        *,
        clock_ms: Callable[[], int] = _wall_ms,
        sweep_s: float = SWEEP_S,
        retention_days: int = 0,
        once: WorkOnce | None = None,
    ) -> None:
        """``retention_days``: calls that ended longer ago are deleted, hourly (0: kept for good). ``once``: with
        several base servers, the one that claims a batch stores it (the others decline while it does)."""
        self._once = once
        self._store = store
        self._retention_ms = retention_days * 86_400_000
        self._last_purge_ms: int | None = None
        self._clock_ms = clock_ms
        self._sweep_s = sweep_s
        self._outage = DatabaseOutageLog(logger, "call history")
        self._heard: dict[str, int] = {}  # server id -> when it was last heard of (heartbeat or a batch)
        self._listening_since = clock_ms()
        self._task: asyncio.Task[None] | None = None
        bus.handle(RecordCallSessions, self._on_record)
        bus.subscribe(ServerHeartbeat, self._on_heartbeat)

    def start(self) -> None:
        self._listening_since = self._clock_ms()
        self._task = asyncio.create_task(self._sweep_periodically())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def last_heard_ms(self, server_id: str) -> int | None:
        """When ``server_id`` was last heard of (a heartbeat or a batch), by this base's clock."""
        return self._heard.get(server_id)

    async def _on_heartbeat(self, heartbeat: ServerHeartbeat) -> None:
        self._heard[heartbeat.server_id] = self._clock_ms()

    async def _on_record(self, message: RecordCallSessions) -> BusMessage | None:
        self._heard[message.server_id] = self._clock_ms()
        if self._once is None:
            return await self._record(message)
        # Storing a batch again later changes nothing (the newest revision wins); storing it on two servers at
        # once would count its changes twice in the roll-ups: one at a time.
        key = work_key("call-history", message.model_dump_json())
        try:
            mine, answer = await self._once.run(key, lambda: self._record(message))
        except Exception:  # the claim could not be written: the database is away
            logger.exception("could not claim %d call history session(s)", len(message.sessions))
            return CommandResult(ok=False, code="unavailable", message="The call history could not be stored.")
        return answer if mine else None

    async def _record(self, message: RecordCallSessions) -> CommandResult:
        try:
            await self._store.record(
                message.server_id, message.incarnation, message.started_at_ms, [from_wire(s) for s in message.sessions]
            )
        except Exception:  # the database is away: the app server keeps the batch and sends it again
            logger.exception("could not store %d call history session(s)", len(message.sessions))
            return CommandResult(ok=False, code="unavailable", message="The call history could not be stored.")
        return CommandResult(ok=True)

    async def sweep(self) -> list[str]:
        """Close the open sessions of servers known dead now; returns those servers."""
        now = self._clock_ms()
        dead = dead_servers(await self._store.servers_with_open_sessions(), self._heard, self._listening_since, now)
        for server in dead:
            closed = await self._store.close_open_sessions(server, now, CLOSED_BY_SERVER_DOWN)
            logger.warning("server %s is down: closed its open call history sessions in %d call(s)", server, closed)
        return dead

    async def purge(self) -> int:
        """Delete the calls older than the retention (none while calls are kept for good); how many."""
        if not self._retention_ms:
            return 0
        now = self._clock_ms()
        self._last_purge_ms = now
        deleted = await self._store.delete_ended_before(now - self._retention_ms)
        if deleted:
            logger.info(
                "deleted %d call(s) of the history that ended over %d days ago",
                deleted,
                self._retention_ms // 86_400_000,
            )
        return deleted

    async def _sweep_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_s)
            try:
                await self.sweep()
                if self._retention_ms and (
                    self._last_purge_ms is None or self._clock_ms() - self._last_purge_ms >= PURGE_EVERY_MS
                ):
                    await self.purge()
                self._outage.succeeded()
            except Exception as exc:
                if not self._outage.failed(exc):
                    logger.exception("call history: closing dead servers' sessions or purging failed (tried again)")
                await asyncio.sleep(self._outage.backoff_s())


def from_wire(wire: CallSessionRecord) -> SessionRecord:
    try:
        kind = ClientKind(wire.kind)
    except ValueError:
        kind = ClientKind.API  # a newer app server's kind this version does not know
    return SessionRecord(
        session_id=wire.session_id,
        conference_id=wire.conference_id,
        conference_name=wire.conference_name,
        identity=wire.identity,
        display_name=wire.display_name,
        guest=wire.guest,
        kind=kind,
        user_agent=wire.user_agent,
        server_id=wire.server_id,
        joined_at_ms=wire.joined_at_ms,
        left_at_ms=wire.left_at_ms,
        revision=wire.revision,
        media=MediaCounters(
            bytes_in=wire.bytes_in,
            bytes_out=wire.bytes_out,
            packets_in=wire.packets_in,
            packets_out=wire.packets_out,
            lost_in=wire.lost_in,
            lost_out=wire.lost_out,
        ),
    )
