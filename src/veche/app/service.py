"""The app role: running conferences on this server, the media engine's lifecycle, and its bus duties."""

from __future__ import annotations

import asyncio
import logging

from veche.app.conference_room import ConferenceRoom
from veche.app.media_engine import MediaEngine
from veche.app.signal_messages import SignalError
from veche.bus.base import Bus
from veche.bus.messages import (
    BusMessage,
    ChatPosted,
    CommandResult,
    ConferenceEnded,
    EngineStatus,
    ListParticipants,
    LiveParticipant,
    ModerateParticipant,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantList,
)
from veche.domain.model import VideoCodec
from veche.domain.room import ChatEntry
from veche.domain.shared_settings import SharedSettings
from veche.domain.ticket import JoinTicket

__all__ = ["AppService"]

logger = logging.getLogger(__name__)


class AppService:
    def __init__(self, engine: MediaEngine, bus: Bus, *, server_id: str, bitrate_bps: int) -> None:
        self.engine = engine
        self._bus = bus
        self._server_id = server_id
        self._bitrate = bitrate_bps
        self._configured_bitrate = bitrate_bps
        self._default_codec = VideoCodec.VP8
        self._rooms: dict[int, ConferenceRoom] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._running = False
        engine.add_restart_listener(self._on_engine_restart)
        bus.handle(ModerateParticipant, self._handle_moderate)
        bus.handle(ListParticipants, self._handle_list)

    async def start(self) -> None:
        await self.engine.start()
        self._running = True

    async def stop(self) -> None:
        self._running = False
        if self._background:  # let announcements in flight finish: cancelling a database call midway can hang
            await asyncio.wait(list(self._background), timeout=2.0)
        for room in list(self._rooms.values()):
            await room.close()
        self._rooms.clear()
        await self.engine.stop()

    def room_for(self, ticket: JoinTicket) -> ConferenceRoom:
        room = self._rooms.get(ticket.conference_id)
        if room is None:
            room = ConferenceRoom(
                ticket.conference_id,
                ticket.conference_name,
                ticket.conference_type,
                ticket.max_participants,
                self.engine,
                bitrate_bps=self._bitrate,
                chat_sink=self._store_chat,
                video_codec=self._codec_of(ticket),
            )
            self._rooms[ticket.conference_id] = room
        return room

    def _codec_of(self, ticket: JoinTicket) -> VideoCodec:
        try:
            return VideoCodec(ticket.video_codec)
        except ValueError:
            return self._default_codec  # "" (the cluster's default) or a codec this version does not know

    async def joined(self, room: ConferenceRoom, participant_id: str, identity: str) -> None:
        """Tell the base role (presence) that someone is in this conference now."""
        await self._bus.publish(
            ParticipantJoined(
                server_id=self._server_id,
                conference_id=room.conference_id,
                participant_id=participant_id,
                identity=identity,
            )
        )

    async def left(self, room: ConferenceRoom, participant_id: str) -> None:
        participant = room.state.participants.get(participant_id)
        await room.leave(participant_id)
        if participant is not None:
            await self._bus.publish(
                ParticipantLeft(
                    server_id=self._server_id,
                    conference_id=room.conference_id,
                    participant_id=participant_id,
                    identity=participant.identity,
                )
            )
        if room.empty and self._rooms.get(room.conference_id) is room:
            del self._rooms[room.conference_id]
            await room.close()
            if self._running:  # sockets closing during shutdown end nothing: the server's conferences move
                # Not awaited: a departure never waits on the base role's database.
                ended = ConferenceEnded(server_id=self._server_id, conference_id=room.conference_id)
                task = asyncio.create_task(self._bus.publish(ended))
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    @property
    def participants(self) -> int:
        return sum(len(r.state.participants) for r in self._rooms.values())

    async def _store_chat(self, conference_id: int, entry: ChatEntry) -> None:
        await self._bus.publish(
            ChatPosted(
                conference_id=conference_id,
                sender=entry.sender,
                display_name=entry.display_name,
                text=entry.text,
                ts=entry.ts,
            )
        )

    async def _on_engine_restart(self) -> None:
        logger.warning("media engine restarted: asking %d conference(s) to republish", len(self._rooms))
        for room in self._rooms.values():
            room.on_engine_restart()

    async def _handle_moderate(self, message: ModerateParticipant) -> BusMessage | None:
        room = self._rooms.get(message.conference_id)
        if room is None or message.participant not in room.state.participants:
            return None
        try:
            await room.moderate(message.by, message.participant, message.action)
        except SignalError as e:
            return CommandResult(ok=False, code=e.code, message=e.message)
        return CommandResult(ok=True)

    async def _handle_list(self, message: ListParticipants) -> BusMessage | None:
        room = self._rooms.get(message.conference_id)
        if room is None:
            return None
        return ParticipantList(participants=[LiveParticipant(**p) for p in room.live_participants()])

    async def engine_status(self) -> EngineStatus:
        info = await self.engine.info()
        return EngineStatus(name=info.name, version=info.version, up=info.up, pid=info.pid)

    def figures(self) -> tuple[int, int]:
        """(conferences, participants) running here, for heartbeats."""
        return len(self._rooms), self.participants

    def apply_settings(self, settings: SharedSettings) -> None:
        """New rooms use the shared bitrate cap and video codec; running rooms keep theirs until they end."""
        self._bitrate = min(self._configured_bitrate, settings.video_max_bitrate_bps)
        self._default_codec = VideoCodec(settings.video_codec)
