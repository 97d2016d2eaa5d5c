"""The signaling WebSocket endpoint: authenticates with a join ticket, then serves one participant."""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.websockets import WebSocket, WebSocketDisconnect

from veche.app.conference_room import ConferenceRoom
from veche.app.connection import ClientConnection
from veche.app.pending_joins import CLOSE_TOO_MANY_PENDING, PendingJoins, PendingSlot
from veche.app.service import AppService
from veche.app.signal_messages import (
    PROTOCOL_VERSION,
    Chat,
    ClientMessage,
    Hand,
    Join,
    Leave,
    Moderate,
    Ping,
    Publish,
    SignalError,
    State,
    Subscribe,
    SubscriptionAnswer,
    Substream,
    Unpublish,
    Unsubscribe,
    parse_client_message,
)
from veche.app.ws_member import CLOSE_CODES, WebSocketMember, joined_message
from veche.domain.room import FeedSource
from veche.domain.room_errors import RoomError, StaleTicket
from veche.domain.ticket import TicketError, decode_ticket

__all__ = ["serve_signaling"]

logger = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 10.0


async def serve_signaling(
    websocket: WebSocket, service: AppService, ticket_key: bytes, pending: PendingJoins | None = None
) -> None:
    """Serve one socket. ``pending`` counts the sockets per address that have not joined (default: one per app)."""
    pending = pending if pending is not None else _pending_joins(websocket)
    address = websocket.client.host if websocket.client is not None else ""
    slot = pending.admit(address)  # counted before the handshake completes: the client sees no gap
    try:
        await websocket.accept()
    except BaseException:
        if slot is not None:
            slot.release()
        raise
    if slot is None:
        service.join_refused("too_many_pending")
        logger.info("refused a signaling socket from %s: %d have not joined yet", address, pending.count(address))
        await websocket.close(CLOSE_TOO_MANY_PENDING, "Too many connections from your address have not joined yet.")
        return
    connection = ClientConnection(websocket.send_text, lambda code, reason: websocket.close(code, reason))
    room: ConferenceRoom | None = None
    participant_id = ""
    try:
        try:
            room, participant_id = await _join(websocket, connection, service, ticket_key, slot)
        finally:
            slot.release()
        while not connection.closed:
            request_id: int | None = None
            try:
                raw = await _receive(websocket)
                request_id, message = parse_client_message(raw)
                if isinstance(message, Leave):
                    connection.close_soon(1000, "left")
                    break
                reply = await _dispatch(room, participant_id, message)
                if request_id is not None:
                    connection.send({**reply, "id": request_id})
            except SignalError as e:
                connection.send(_error(e.code, e.message, request_id if request_id is not None else e.request_id))
            except RoomError as e:
                connection.send(_error(e.code, e.message, request_id))
    except _JoinRefused as e:
        service.join_refused(e.code)
        connection.send(_error(e.code, e.message, e.request_id))
        # A stale or expired ticket is not the participant's fault: the client asks for a new one (4010).
        close, _ = CLOSE_CODES.get(e.code, (4000, e.code))
        connection.close_soon(close, e.code)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        if room is not None and participant_id:
            await service.left(room, participant_id)
        await asyncio.sleep(0)  # let the writer flush a final error or `removed`
        if not connection.closed:
            await connection.aclose()


class _JoinRefused(Exception):
    def __init__(self, code: str, message: str, request_id: int | None) -> None:
        super().__init__(message)
        self.code, self.message, self.request_id = code, message, request_id


async def _join(
    websocket: WebSocket, connection: ClientConnection, service: AppService, key: bytes, slot: PendingSlot
) -> tuple[ConferenceRoom, str]:
    try:
        try:
            raw = await asyncio.wait_for(_receive(websocket), JOIN_TIMEOUT_S)
        except TimeoutError as e:
            raise SignalError("bad_request", "The first message must be `join`, within 10 s.") from e
        request_id, message = parse_client_message(raw)
    except SignalError as e:
        raise _JoinRefused(e.code, e.message, e.request_id) from e
    if not isinstance(message, Join):
        raise _JoinRefused("not_joined", "The first message must be `join`.", request_id)
    if message.v != PROTOCOL_VERSION:
        raise _JoinRefused(
            "unsupported_version", f"This server speaks protocol version {PROTOCOL_VERSION}.", request_id
        )
    try:
        ticket = decode_ticket(message.ticket, key, time.time())
    except TicketError as e:
        raise _JoinRefused(e.code, str(e), request_id) from e
    slot.release()  # a valid ticket: no longer counted against the address, whatever the room answers
    if ticket.server_id and ticket.server_id != service.server_id:
        raise _JoinRefused(
            StaleTicket.code, "This ticket is for another app server: the conference has moved.", request_id
        )
    room = service.room_for(ticket)
    try:
        codecs = frozenset(message.video_codecs) if message.video_codecs is not None else None
        snapshot = await room.join(ticket, WebSocketMember(connection), video_codecs=codecs)
    except RoomError as e:
        await service.forget_if_empty(room)
        raise _JoinRefused(e.code, e.message, request_id) from e
    connection.send(joined_message(snapshot, request_id))
    await service.joined(room, snapshot.you.id, ticket.identity, user_agent=websocket.headers.get("user-agent", ""))
    return room, snapshot.you.id


def _pending_joins(websocket: WebSocket) -> PendingJoins:
    """The counter of the ASGI app this socket came to (kept in its state, made on first use)."""
    state = websocket.app.state
    pending = getattr(state, "signaling_pending_joins", None)
    if not isinstance(pending, PendingJoins):
        pending = state.signaling_pending_joins = PendingJoins()
    return pending


async def _receive(websocket: WebSocket) -> str:
    """The next text frame; a binary frame is a ``bad_request`` (the protocol is JSON text)."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    if not isinstance(text, str):
        raise SignalError("bad_request", "Binary frames are not part of the protocol: send each message as JSON text.")
    return text


async def _dispatch(room: ConferenceRoom, me: str, message: ClientMessage) -> dict[str, object]:
    match message:
        case Publish(source=source, sdp=sdp, scalability_mode=mode):
            feed, answer = await room.publish(me, FeedSource(source), sdp, scalability_mode=mode)
            return {"type": "published", "source": source, "feed": feed, "sdp": answer}
        case Unpublish(source=source):
            await room.unpublish(me, FeedSource(source))
        case Subscribe(feed=feed):
            offer, withheld = await room.subscribe(me, feed)
            reply: dict[str, object] = {"type": "subscription_offer", "feed": feed, "sdp": offer}
            if withheld is not None:
                reply["video_withheld"] = withheld  # audio only: this client cannot decode the feed's video
            return reply
        case SubscriptionAnswer(feed=feed, sdp=sdp):
            await room.answer_subscription(me, feed, sdp)
        case Unsubscribe(feed=feed):
            await room.unsubscribe(me, feed)
        case Substream(feed=feed, substream=substream):
            await room.set_substream(me, feed, substream)
        case State(audio=audio, video=video):
            await room.set_state(me, audio=audio, video=video)
        case Chat(text=text):
            await room.chat(me, text)
        case Hand(raised=raised):
            await room.raise_hand(me, raised)  # anyone, his own hand only
        case Moderate(participant=target, action=action):
            await room.moderate(room.moderator_name(me), target, action)
        case Ping():
            return {"type": "pong"}
        case Join():
            raise SignalError("bad_request", "You have already joined.")
    return {"type": "ok"}


def _error(code: str, message: str, request_id: int | None) -> dict[str, object]:
    error: dict[str, object] = {"type": "error", "code": code, "message": message}
    if request_id is not None:
        error["id"] = request_id
    return error
