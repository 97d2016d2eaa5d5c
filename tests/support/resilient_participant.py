"""A synthetic participant that survives the death of its app server, as the browser client does.

When its signaling socket drops it asks the web server where the conference runs now (sending the failed
server's id), connects there, publishes again and subscribes to everyone. Used by the cluster tests and
bench/failover.py, which measure the time from a kill to the first decoded frame again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .signal_client import DecodeMode, SyntheticParticipant

__all__ = ["JoinFunction", "ResilientParticipant"]

# join(failed_server) -> the web server's join answer {"signaling_url", "ticket", "server_id", ...}
JoinFunction = Callable[[str | None], Awaitable[dict[str, Any]]]
BACKOFF_S = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)


class ResilientParticipant:
    def __init__(self, name: str, join: JoinFunction, *, decode: DecodeMode = DecodeMode.FIRST_FRAME) -> None:
        self.name = name
        self._join = join
        self._decode = decode
        self.current: SyntheticParticipant | None = None
        self.server_id: str | None = None
        self.reconnects = 0
        self.lost_at: float | None = None
        self._watch: asyncio.Task[None] | None = None
        self._closed = False

    async def start(self) -> None:
        await self._connect(await self._join(None))

    async def _connect(self, answer: dict[str, Any]) -> None:
        participant = SyntheticParticipant(self.name, decode=self._decode)
        await participant.connect(answer["signaling_url"], answer["ticket"])
        self.current = participant
        self.server_id = answer.get("server_id")
        await participant.publish_camera()
        self._watch = asyncio.create_task(self._watch_socket(participant), name=f"{self.name}-watch")

    async def _watch_socket(self, participant: SyntheticParticipant) -> None:
        await participant.wait_until(
            lambda: any(e.get("type") == "_socket_closed" for e in participant.events), timeout=10**9, what="close"
        )
        if self._closed:
            return
        self.lost_at = time.monotonic()
        with contextlib.suppress(Exception):
            await participant.close()
        for attempt in range(60):
            await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
            try:
                answer = await self._join(self.server_id)
                await self._connect(answer)
                self.reconnects += 1
                return
            except Exception:  # the web server or the new app server not ready yet: try again
                continue

    async def wait_for_video_from(self, others: int, timeout: float = 30.0, after: float = 0.0) -> float:
        """Wait until video was decoded from ``others`` remote camera feeds on the current connection, first
        frames later than ``after`` (time.monotonic()); returns when the last of them arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            participant = self.current
            if participant is not None and not participant.closed:
                decoded = [
                    f.first_video_frame_at
                    for f in participant.feeds.values()
                    if f.first_video_frame_at is not None and f.first_video_frame_at > after
                ]
                if len(decoded) >= others:
                    return max(decoded)  # type: ignore[type-var]
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"{self.name}: no video from {others} others within {timeout:.0f} s "
            f"(server {self.server_id}, feeds {self.current.describe_feeds() if self.current else 'none'})"
        )

    async def close(self) -> None:
        self._closed = True
        if self._watch is not None:
            self._watch.cancel()
        if self.current is not None:
            await self.current.close()
