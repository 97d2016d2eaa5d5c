"""Which conference a dialled number is, and whether this caller may join it: asked of the base role over the
bus, or held in memory for tests."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

from veche.bus.base import Bus, BusError
from veche.bus.sip_messages import FindDialInConference

__all__ = ["BusConferenceDirectory", "ConferenceDirectory", "DialInTarget", "DirectoryUnavailable", "FixedDirectory"]


@dataclass(frozen=True)
class DialInTarget:
    conference_id: int
    name: str
    refusal: str = ""  # why this caller may not join ("pin_required", ...; bus/sip_messages.DialInConference)
    message: str = ""


class DirectoryUnavailable(Exception):
    """Nobody could say which conference the number is (the base role does not answer)."""


class ConferenceDirectory(abc.ABC):
    @abc.abstractmethod
    async def find(self, number: str, *, pin: str = "", caller: str = "") -> DialInTarget | None:
        """The conference dialled as ``number``, None when there is none; :class:`DirectoryUnavailable`."""


class BusConferenceDirectory(ConferenceDirectory):
    def __init__(self, bus: Bus, timeout_s: float = 2.0) -> None:
        self._bus = bus
        self._timeout_s = timeout_s

    async def find(self, number: str, *, pin: str = "", caller: str = "") -> DialInTarget | None:
        try:
            reply = await self._bus.request(
                FindDialInConference(number=number, pin=pin, caller=caller), timeout_s=self._timeout_s
            )
        except (BusError, TimeoutError) as e:
            raise DirectoryUnavailable(str(e)) from e
        if not reply.found:
            return None
        return DialInTarget(reply.conference_id, reply.name, reply.refusal, reply.message)


@dataclass
class FixedDirectory(ConferenceDirectory):
    """Numbers held in memory (tests); ``pins``: the PIN a number asks for."""

    targets: dict[str, DialInTarget] = field(default_factory=dict)
    pins: dict[str, str] = field(default_factory=dict)

    async def find(self, number: str, *, pin: str = "", caller: str = "") -> DialInTarget | None:
        target = self.targets.get(number)
        expected = self.pins.get(number)
        if target is not None and expected is not None and pin != expected:
            return DialInTarget(target.conference_id, target.name, "pin_required", "Wrong or missing PIN.")
        return target
