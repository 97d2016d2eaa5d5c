"""The bus interface: events to every subscriber, requests answered by one handler."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from typing import TypeVar

from veche.bus.messages import BusMessage

__all__ = ["Bus", "BusError", "NoResponder", "RequestHandler", "EventHandler"]

M = TypeVar("M", bound=BusMessage)
EventHandler = Callable[[M], Awaitable[None]]
RequestHandler = Callable[[M], Awaitable[BusMessage | None]]


class BusError(Exception):
    pass


class NoResponder(BusError):
    """Nobody answers this request (for instance the conference is not running anywhere)."""


class Bus(abc.ABC):
    @abc.abstractmethod
    async def publish(self, message: BusMessage) -> None:
        """Send an event to every subscriber of its subject."""

    @abc.abstractmethod
    def subscribe(self, message_type: type[M], handler: EventHandler[M]) -> None: ...

    @abc.abstractmethod
    def handle(self, message_type: type[M], handler: RequestHandler[M]) -> None:
        """Answer requests of this type. A handler returning None means "not mine": the next one is asked."""

    @abc.abstractmethod
    async def request(self, message: BusMessage, timeout_s: float = 2.0) -> BusMessage:
        """Ask the one server that answers; raises :class:`NoResponder` when none does."""

    @abc.abstractmethod
    async def publish_to(self, server_id: str, message: BusMessage) -> None:
        """Send an event to one server only."""

    @abc.abstractmethod
    async def request_to(self, server_id: str, message: BusMessage, timeout_s: float = 2.0) -> BusMessage:
        """Ask one server; :class:`NoResponder` naming it when it is not on the bus or declines."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
