"""Sends one Web Push message (RFC 8030, aes128gcm per RFC 8291, VAPID per RFC 8292) with pywebpush, in a bounded
pool of threads (pywebpush is blocking)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Literal

import requests
from pywebpush import WebPushException, webpush

from veche.base.notify.vapid import VapidKeys
from veche.storage.notifications import WebPushTarget

__all__ = ["PushResult", "WebPushSender", "result_of_status"]

PushStatus = Literal["sent", "gone", "retry", "failed"]


class PushResult:
    __slots__ = ("error", "status")

    def __init__(self, status: PushStatus, error: str | None = None) -> None:
        self.status: PushStatus = status
        self.error = error

    def __repr__(self) -> str:
        return f"PushResult({self.status!r}, {self.error!r})"


def result_of_status(code: int, reason: str = "") -> PushResult:
    """What a push service's answer means: 2xx sent; 404/410 the subscription is gone; 429 and 5xx worth retrying;
    any other 4xx (a bad request, the VAPID signature refused, too large) failed."""
    if 200 <= code < 300:
        return PushResult("sent")
    error = f"push service answered {code} {reason}".strip()
    if code in (404, 410):
        return PushResult("gone", error)
    if code == 429 or code >= 500:
        return PushResult("retry", error)
    return PushResult("failed", error)


class WebPushSender:
    def __init__(self, keys: VapidKeys, *, subject: str, ttl_s: int, timeout_s: float, workers: int) -> None:
        self._keys = keys
        self._subject = subject
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webpush")

    async def send(self, target: WebPushTarget, payload: bytes) -> PushResult:
        return await asyncio.get_running_loop().run_in_executor(self._pool, partial(self._send, target, payload))

    def _send(self, target: WebPushTarget, payload: bytes) -> PushResult:
        subscription = {"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}}
        try:
            response = webpush(
                subscription,
                data=payload.decode(),
                vapid_private_key=self._keys.vapid,
                vapid_claims={"sub": self._subject},  # a new dict each time: pywebpush adds "aud" and "exp" to it
                ttl=self._ttl_s,
                timeout=self._timeout_s,
            )
        except WebPushException as e:
            if e.response is not None:
                return result_of_status(e.response.status_code, e.response.reason or "")
            return PushResult("retry", f"Web Push failed: {e.message}")
        except requests.RequestException as e:
            return PushResult("retry", f"push service not reached: {type(e).__name__}")
        code = getattr(response, "status_code", 201)
        return result_of_status(int(code), str(getattr(response, "reason", "")))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
