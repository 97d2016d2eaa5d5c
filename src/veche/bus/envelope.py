"""How bus messages look on the wire: JSON of the pydantic model inside a small versioned envelope.

A message travels as ``{"subject": ..., "schema_version": ..., "body": {...}}``; ``subject`` is the class's
own subject (never the addressed wire subject), so a requester checks that a reply is of the class its request
declares. A request handler that cannot answer sends a *fault* instead:
``{"fault": "declined" | "failed", "sender": ..., "detail": ...}``. A message addressed to one server travels
on ``<subject>.to.<server_id>`` (:func:`addressed_subject`). Pure: no I/O.
"""

from __future__ import annotations

import json
import logging
import re
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from veche.bus.base import BusError, UnexpectedReply, declared_reply
from veche.bus.messages import BusMessage, BusRequest

__all__ = [
    "Fault",
    "FaultKind",
    "MalformedMessage",
    "addressed_subject",
    "decode_message",
    "decode_reply",
    "encode_fault",
    "encode_message",
    "message_class",
]

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BusMessage)
R = TypeVar("R", bound=BusMessage)

_SERVER_ID = re.compile(r"[A-Za-z0-9_-]+")


class MalformedMessage(BusError):
    """Bytes from the bus that are not a message this process understands."""


class FaultKind(StrEnum):
    DECLINED = "declined"  # an addressed server has no handler that owns this request
    FAILED = "failed"  # the handler raised


class Fault(BaseModel):
    """A request handler's answer that is not a message: why it could not answer."""

    fault: FaultKind
    sender: str
    detail: str = ""


class _Envelope(BaseModel):
    subject: str
    schema_version: int
    body: dict[str, Any]


def addressed_subject(subject: str, server_id: str) -> str:
    """The wire subject of ``subject`` addressed to one server."""
    if not _SERVER_ID.fullmatch(server_id):
        raise ValueError(f"Server id {server_id!r} cannot address a bus subject: use letters, digits, '-' or '_'.")
    return f"{subject}.to.{server_id}"


def encode_message(message: BusMessage) -> bytes:
    """The wire form of ``message``."""
    envelope = {
        "subject": message.subject,
        "schema_version": message.schema_version,
        "body": message.model_dump(mode="json"),
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def encode_fault(kind: FaultKind, sender: str, detail: str = "") -> bytes:
    return Fault(fault=kind, sender=sender, detail=detail).model_dump_json().encode()


def decode_message(data: bytes, message_type: type[M]) -> M:
    """Parse ``data`` as a ``message_type``; raises :class:`MalformedMessage` when it is not one."""
    envelope = _parse_envelope(data)
    if envelope.subject != message_type.subject:
        raise MalformedMessage(f"Expected a {message_type.subject} message, got {envelope.subject}.")
    return _validate(envelope, message_type)


def decode_reply(data: bytes, request_type: type[BusRequest[R]]) -> R | Fault:
    """Parse the reply to a ``request_type``: the reply class it declares, or a :class:`Fault`.

    Raises :class:`~veche.bus.base.UnexpectedReply` naming both classes when the reply is of another class.
    """
    raw = _parse_json(data)
    if "fault" in raw:
        try:
            return Fault.model_validate(raw)
        except ValidationError as exc:
            raise MalformedMessage(f"Malformed fault reply: {exc}") from exc
    envelope = _envelope_from(raw)
    expected = declared_reply(request_type)
    if envelope.subject != expected.subject:
        try:
            got = f"{message_class(envelope.subject).__name__} ({envelope.subject})"
        except MalformedMessage:
            got = envelope.subject
        raise UnexpectedReply(
            f"{request_type.__name__} ({request_type.subject}) expects a {expected.__name__} reply, got {got}."
        )
    return _validate(envelope, expected)


def message_class(subject: str) -> type[BusMessage]:
    """The declared message class whose ``subject`` is ``subject``."""
    found = _registry().get(subject)
    if found is None:
        _REGISTRY.clear()  # classes may have been declared since the last lookup
        found = _registry().get(subject)
    if found is None:
        raise MalformedMessage(f"Unknown message subject {subject!r}.")
    return found


_REGISTRY: dict[str, type[BusMessage]] = {}


def _registry() -> dict[str, type[BusMessage]]:
    if not _REGISTRY:
        pending: list[type[BusMessage]] = list(BusMessage.__subclasses__())
        while pending:
            cls = pending.pop()
            pending.extend(cls.__subclasses__())
            if "subject" in cls.__dict__:
                _REGISTRY.setdefault(cls.subject, cls)
    return _REGISTRY


def _parse_json(data: bytes) -> dict[str, Any]:
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedMessage(f"Not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise MalformedMessage("Not a JSON object.")
    return raw


def _envelope_from(raw: dict[str, Any]) -> _Envelope:
    try:
        return _Envelope.model_validate(raw)
    except ValidationError as exc:
        raise MalformedMessage(f"Malformed envelope: {exc}") from exc


def _parse_envelope(data: bytes) -> _Envelope:
    return _envelope_from(_parse_json(data))


def _validate(envelope: _Envelope, message_type: type[M]) -> M:
    if envelope.schema_version != message_type.schema_version:
        # Fields are added with defaults and unknown ones ignored, so other versions usually still parse.
        logger.debug(
            "%s schema version %d, this process knows %d",
            envelope.subject,
            envelope.schema_version,
            message_type.schema_version,
        )
    try:
        return message_type.model_validate(envelope.body)
    except ValidationError as exc:
        raise MalformedMessage(
            f"{envelope.subject} (schema version {envelope.schema_version}) does not fit {message_type.__name__}: {exc}"
        ) from exc
