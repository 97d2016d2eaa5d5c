"""Delivers the queued pushes (base role): each notice to each of its user's browsers (Web Push) and devices (a
mobile push provider), in the background, retried with back-off (``push.retry``). A subscription or device the
push service says is gone (404/410) is forgotten. Claims work as for mails (several base servers share the queue).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import timedelta

from veche.base.notify.mobile_push import MobileMessage, PushProvider
from veche.base.notify.webpush import PushResult, WebPushSender
from veche.config.notify import PushConfig
from veche.domain.clock import Clock
from veche.storage.notifications import ClaimedPush, PushTargetStore, StoredNotice
from veche.storage.unavailable import DatabaseOutageLog

__all__ = ["PushSender", "web_push_payload"]

logger = logging.getLogger(__name__)

BATCH = 50


def web_push_payload(notice: StoredNotice) -> bytes:
    """What the service worker (static/sw.js) shows."""
    return json.dumps(
        {"id": notice.id, "kind": notice.kind, "title": notice.title, "body": notice.body, "url": notice.url},
        separators=(",", ":"),
    ).encode()


class PushSender:
    def __init__(
        self,
        store: PushTargetStore,
        web: WebPushSender | None,
        providers: dict[str, PushProvider],
        config: PushConfig,
        clock: Clock,
        *,
        worker: str,
    ) -> None:
        self._store = store
        self._web = web
        self._providers = providers
        self._config = config
        self._clock = clock
        self._worker = worker
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._outage = DatabaseOutageLog(logger, "push queue")

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        freed = await self._store.release_claims_of(self._worker)
        if freed:
            logger.info("took back %d push(es) this server held when it stopped", freed)
        self._task = asyncio.create_task(self._run(), name="push-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._web is not None:
            self._web.close()

    async def _run(self) -> None:
        while True:
            busy = False
            try:
                busy = await self.send_due()
                self._outage.succeeded()
            except Exception as exc:
                if not self._outage.failed(exc):
                    logger.exception("the push queue could not be read (tried again shortly)")
            if not busy:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._config.poll_s)

    async def send_due(self) -> bool:
        lease = timedelta(seconds=self._config.lease_s)
        batch = await self._store.claim(worker=self._worker, now=self._clock(), lease=lease, limit=BATCH)
        if not batch:
            return False
        await asyncio.gather(*(self._deliver(push) for push in batch))
        return True

    async def _deliver(self, push: ClaimedPush) -> None:
        try:
            result = await self._send(push)
        except Exception as e:  # a provider's bug must not stop the queue
            logger.exception("push %d failed unexpectedly", push.id)
            result = PushResult("retry", f"{type(e).__name__}: {e}")
        if result.status == "sent":
            await self._store.finish(push.id, "sent")
        elif result.status == "gone":
            logger.info("push %d: %s; forgetting that subscription or device", push.id, result.error)
            if push.subscription_id is not None:
                await self._store.drop_subscription(push.subscription_id)
            elif push.device_id is not None:
                await self._store.drop_device(push.device_id)
        elif result.status == "failed":
            logger.warning("push %d failed, not retried: %s", push.id, result.error)
            await self._store.finish(push.id, "failed", result.error)
        else:
            await self._retry(push, result.error or "retry")

    async def _send(self, push: ClaimedPush) -> PushResult:
        if push.web is not None:
            if self._web is None:
                return PushResult("failed", "Web Push is not available on this server")
            return await self._web.send(push.web, web_push_payload(push.notice))
        if push.device is not None:
            provider_name, token = push.device
            provider = self._providers.get(provider_name)
            if provider is None:
                return PushResult("failed", f"no mobile push provider {provider_name!r} is configured")
            n = push.notice
            return await provider.send(token, MobileMessage(n.id, n.kind, n.title, n.body, n.url))
        return PushResult("failed", "its subscription or device is gone")

    async def _retry(self, push: ClaimedPush, error: str) -> None:
        now = self._clock()
        retry = self._config.retry
        if (now - push.created_at).total_seconds() >= retry.give_up_after_s:
            await self._store.finish(push.id, "failed", f"gave up after {push.attempts + 1} attempt(s): {error}")
            return
        await self._store.retry_later(
            push.id, at=now + timedelta(seconds=retry.delay_s(push.attempts + 1)), error=error
        )
