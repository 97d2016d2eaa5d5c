"""Mobile push: the interface a provider (FCM, APNs, a relay, … all external services) implements to deliver a
notice to a device token, and the recording provider the tests use. Devices register their tokens by API
(``POST /api/v1/push/devices``) under a provider's name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from veche.base.notify.webpush import PushResult

__all__ = ["MobileMessage", "PushProvider", "RecordingProvider"]


@dataclass(frozen=True)
class MobileMessage:
    notice_id: int
    kind: str
    title: str
    body: str
    url: str


class PushProvider(Protocol):
    """Delivers to the devices registered under one provider name."""

    name: str

    async def send(self, token: str, message: MobileMessage) -> PushResult:
        """Send ``message`` to the device ``token``: "sent"; "gone" (the provider says the token is no longer
        valid: the device is forgotten); "retry" (try again later); "failed" (never)."""


class RecordingProvider:
    """Records what it was asked to send (``push.mobile_provider = "record"``: tests and demonstrations). Tokens
    starting with "gone-" are answered "gone", "retry-" "retry" (once each)."""

    def __init__(self, name: str = "test") -> None:
        self.name = name
        self.sent: list[tuple[str, MobileMessage]] = []
        self._retried: set[str] = set()

    async def send(self, token: str, message: MobileMessage) -> PushResult:
        if token.startswith("gone-"):
            return PushResult("gone", "the provider says the token is unknown")
        if token.startswith("retry-") and token not in self._retried:
            self._retried.add(token)
            return PushResult("retry", "the provider is busy")
        self.sent.append((token, message))
        return PushResult("sent")
