"""The app role: running conferences on this server, the media engine's lifecycle, and its bus duties."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from veche.app.admission import Admission, CountedAdmission
from veche.app.call_log_sender import CallLogSender
from veche.app.chat_archive_sender import ChatArchiveSender
from veche.app.conference_room import ConferenceRoom
from veche.app.media_engine import MediaEngine
from veche.bus.base import Bus, BusError
from veche.bus.messages import (
    BusMessage,
    CommandResult,
    ConferenceEnded,
    EngineStatus,
    ListParticipants,
    LiveParticipant,
    ModerateParticipant,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantList,
    RemovedEntry,
)
from veche.bus.session_messages import EndSessions, FindDisabledAccounts
from veche.domain.license_pools import Pool
from veche.domain.model import VideoCodec
from veche.domain.room import ParticipantKind, RoomParticipant
from veche.domain.room_errors import RoomError
from veche.domain.shared_settings import SharedSettings
from veche.domain.ticket import JoinTicket

__all__ = ["AppService"]

ACCOUNT_DISABLED = "Your account was disabled: the call ended."
LICENSE_GRACE_OVER = (
    "This server lost contact with the license manager for too long and had to end some calls. Join again."
)

logger = logging.getLogger(__name__)


class AppService:
    def __init__(
        self,
        engine: MediaEngine,
        bus: Bus,
        *,
        server_id: str,
        bitrate_bps: int,
        admission: Admission | None = None,
        account_check_s: float = 5.0,
        call_log: CallLogSender | None = None,
    ) -> None:
        self.engine = engine
        self._bus = bus
        self._server_id = server_id
        self.admission = admission if admission is not None else CountedAdmission()
        self._account_check_s = account_check_s
        self.call_log = call_log  # the call history: every session here, sent to the base role
        self.chat_archive = ChatArchiveSender(bus)  # chat posts, sent to the base role until acknowledged
        self._account_task: asyncio.Task[None] | None = None
        self._bitrate = bitrate_bps
        self._configured_bitrate = bitrate_bps
        self._default_codec = VideoCodec.VP8
        self._rooms: dict[int, ConferenceRoom] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._running = False
        # For /metrics (veche.metrics): plain counters, bumped on the join path without a lock or I/O.
        self.admitted_joins = 0
        self.refused_joins: dict[str, int] = {}  # the protocol's error code -> joins refused with it
        engine.add_restart_listener(self._on_engine_restart)
        bus.handle(ModerateParticipant, self._handle_moderate)
        bus.handle(ListParticipants, self._handle_list)
        bus.subscribe(EndSessions, self._on_end_sessions)

    @property
    def server_id(self) -> str:
        return self._server_id

    async def start(self) -> None:
        await self.engine.start()
        self._running = True
        self._account_task = asyncio.create_task(self._check_accounts())
        if self.call_log is not None:
            await self.call_log.start()
        self.chat_archive.start()

    async def stop(self) -> None:
        self._running = False
        if self._account_task is not None:
            self._account_task.cancel()
        if self._background:  # let announcements in flight finish: cancelling a database call midway can hang
            await asyncio.wait(list(self._background), timeout=2.0)
        for room in list(self._rooms.values()):
            await room.close()
        self._rooms.clear()
        if self.call_log is not None:
            await self.call_log.stop()  # closes the sessions still open and hands them to base
        await self.chat_archive.stop()
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
                chat_sink=self.chat_archive.post,
                video_codec=self._codec_of(ticket),
                admission=self.admission,
                epoch=ticket.epoch,
                on_left=self._on_left,
            )
            self._rooms[ticket.conference_id] = room
        return room

    def join_refused(self, code: str) -> None:
        """Count a join refused with the protocol error ``code`` (a fixed list: a safe metric label)."""
        self.refused_joins[code] = self.refused_joins.get(code, 0) + 1

    async def forget_if_empty(self, room: ConferenceRoom) -> None:
        """A join was refused: a room made only for it goes again."""
        await self._after_departures(room)

    def _codec_of(self, ticket: JoinTicket) -> VideoCodec:
        try:
            return VideoCodec(ticket.video_codec)
        except ValueError:
            return self._default_codec  # "" (the cluster's default) or a codec this version does not know

    async def joined(self, room: ConferenceRoom, participant_id: str, identity: str, *, user_agent: str = "") -> None:
        """Tell the base role (presence, call history) that someone is in this conference now."""
        self.admitted_joins += 1
        participant = room.state.participants.get(participant_id)
        if self.call_log is not None and participant is not None:
            self.call_log.joined(room, participant, user_agent=user_agent)
        await self._bus.publish(
            ParticipantJoined(
                server_id=self._server_id,
                conference_id=room.conference_id,
                participant_id=participant_id,
                identity=identity,
            )
        )

    async def left(self, room: ConferenceRoom, participant_id: str) -> None:
        if self.call_log is not None:
            await self.call_log.leaving(room, participant_id)
        await room.leave(participant_id)
        await self._after_departures(room)

    def _on_left(self, room: ConferenceRoom, participant: RoomParticipant) -> None:
        """Whatever the way out (socket drop, removal, replaced, signed out): tell the base role (presence)."""
        if self.call_log is not None:
            self.call_log.left(room, participant)
        self._in_background(
            self._bus.publish(
                ParticipantLeft(
                    server_id=self._server_id,
                    conference_id=room.conference_id,
                    participant_id=participant.id,
                    identity=participant.identity,
                )
            )
        )

    async def _after_departures(self, room: ConferenceRoom) -> None:
        if room.empty and self._rooms.get(room.conference_id) is room:
            del self._rooms[room.conference_id]
            await room.close()
            if self._running:  # sockets closing during shutdown end nothing: the server's conferences move
                # Not awaited: a departure never waits on the base role's database.
                self._in_background(
                    self._bus.publish(ConferenceEnded(server_id=self._server_id, conference_id=room.conference_id))
                )

    def _in_background(self, call: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(call)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @property
    def participants(self) -> int:
        return sum(len(r.state.participants) for r in self._rooms.values())

    async def _on_engine_restart(self) -> None:
        logger.warning("media engine restarted: asking %d conference(s) to republish", len(self._rooms))
        for room in self._rooms.values():
            room.on_engine_restart()

    async def _handle_moderate(self, message: ModerateParticipant) -> BusMessage | None:
        room = self._rooms.get(message.conference_id)
        if room is None:
            return None
        if message.action != "readmit" and message.participant not in room.state.participants:
            return None
        try:
            await room.moderate(message.by, message.participant, message.action)
        except RoomError as e:
            return CommandResult(ok=False, code=e.code, message=e.message)
        return CommandResult(ok=True)

    async def _handle_list(self, message: ListParticipants) -> BusMessage | None:
        room = self._rooms.get(message.conference_id)
        if room is None:
            return None
        return ParticipantList(
            participants=[
                LiveParticipant(
                    id=p.id,
                    display_name=p.display_name,
                    guest=p.guest,
                    role=p.role,
                    audio=p.audio,
                    video=p.video,
                    force_muted=p.force_muted,
                    kind=p.kind,
                    hand_raised=p.hand_raised,
                )
                for p in room.live_participants()
            ],
            removed=[
                RemovedEntry(identity=r.identity, display_name=r.display_name, by=r.by) for r in room.removed.values()
            ],
        )

    async def _on_end_sessions(self, message: EndSessions) -> None:
        ended = 0
        for room in list(self._rooms.values()):
            ended += await room.end_sessions(message.identity, message.code, message.message, sign_in=message.sign_in)
            await self._after_departures(room)
        if ended:
            logger.info("ended %d connection(s) of %s (%s)", ended, message.identity, message.code)

    async def end_excess(self, pool: Pool, count: int) -> None:
        """End ``count`` connections that hold ``pool``, the newest first (the license grace is over)."""
        holders = [
            (room, p)
            for room in self._rooms.values()
            for p in room.state.participants.values()
            if pool is Pool.VIDEO
            or (pool is Pool.GUESTS and p.guest)
            or (pool is Pool.GATEWAY and p.kind is ParticipantKind.GATEWAY)
            or (pool is Pool.ONLINE_USERS and p.identity.startswith("user:"))
        ]
        for room, participant in list(reversed(holders))[:count]:
            await room.end_sessions(participant.identity, "license_grace_over", LICENSE_GRACE_OVER)
            await self._after_departures(room)

    async def _check_accounts(self) -> None:
        """Every few seconds: end the calls of accounts disabled since they joined, however that happened."""
        while self._running:
            await asyncio.sleep(self._account_check_s)
            users = sorted(
                {int(i.split(":", 1)[1]) for r in self._rooms.values() for i in r.identities() if i.startswith("user:")}
            )
            if not users:
                continue
            try:
                reply = await self._bus.request(FindDisabledAccounts(user_ids=users), timeout_s=2.0)
            except BusError as e:  # the base role is away: nobody can be disabled meanwhile either
                logger.debug("could not check accounts: %s", e)
                continue
            for user_id in reply.user_ids:
                await self._on_end_sessions(
                    EndSessions(identity=f"user:{user_id}", code="account_disabled", message=ACCOUNT_DISABLED)
                )

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
