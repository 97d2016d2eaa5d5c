"""The in-process bus of `veche up`: same interface as NATS, delivered by direct calls."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from veche.bus.base import Bus, EventHandler, M, NoResponder, RequestHandler
from veche.bus.messages import BusMessage

__all__ = ["InProcessBus"]

logger = logging.getLogger(__name__)


class InProcessBus(Bus):
    def __init__(self, server_id: str = "") -> None:
        self._server_id = server_id
        self._subscribers: dict[str, list[EventHandler[Any]]] = {}
        self._handlers: dict[str, list[RequestHandler[Any]]] = {}

    async def publish(self, message: BusMessage) -> None:
        for handler in list(self._subscribers.get(message.subject, ())):
            try:
                await handler(message)
            except Exception:
                logger.exception("subscriber of %s failed", message.subject)

    def subscribe(self, message_type: type[M], handler: EventHandler[M]) -> None:
        self._subscribers.setdefault(message_type.subject, []).append(handler)

    def handle(self, message_type: type[M], handler: RequestHandler[M]) -> None:
        self._handlers.setdefault(message_type.subject, []).append(handler)

    async def request(self, message: BusMessage, timeout_s: float = 2.0) -> BusMessage:
        for handler in self._handlers.get(message.subject, ()):
            reply = await asyncio.wait_for(handler(message), timeout_s)
            if reply is not None:
                return reply
        raise NoResponder(f"No server answers {message.subject}.")

    async def publish_to(self, server_id: str, message: BusMessage) -> None:
        if server_id == self._server_id:
            await self.publish(message)

    async def request_to(self, server_id: str, message: BusMessage, timeout_s: float = 2.0) -> BusMessage:
        if server_id != self._server_id:
            raise NoResponder(f"Server {server_id} is not on the bus.")
        try:
            return await self.request(message, timeout_s)
        except NoResponder as e:
            raise NoResponder(f"Server {server_id} does not handle {message.subject}.") from e
