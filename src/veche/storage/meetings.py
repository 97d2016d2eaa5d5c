"""Persistence of scheduled meetings: the series with its invitees and changed occurrences, the reminders sent,
feed tokens and profiles. Lists are filtered and paged here, in the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.domain.errors import Conflict
from veche.domain.meetings import Answer, Invitee, Meeting, OccurrenceChange
from veche.storage.directory_tables import DirectoryGroupRow, DirectoryUserGroupRow
from veche.storage.meeting_tables import (
    MeetingFeedTokenRow,
    MeetingInviteeRow,
    MeetingOccurrenceRow,
    MeetingReminderRow,
    MeetingRow,
    UserProfileRow,
)
from veche.storage.tables import ConferenceRow, UserRow

__all__ = ["GroupMembers", "MeetingFields", "MeetingPage", "MeetingStore", "NewInvitee", "Profile"]


def _utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)


def _opt(ts: datetime | None) -> datetime | None:
    return None if ts is None else _utc(ts)


@dataclass(frozen=True)
class NewInvitee:
    user_id: int | None
    email: str
    display_name: str
    group: str = ""

    @property
    def key(self) -> str:
        return f"user:{self.user_id}" if self.user_id is not None else f"email:{self.email}"


@dataclass(frozen=True)
class MeetingFields:
    """The series' own fields, as stored (times UTC)."""

    title: str
    starts_at: datetime
    duration_minutes: int
    time_zone: str
    recurrence: str | None
    series_end: datetime | None
    guests_allowed: bool
    moderated: bool
    pin: str | None


@dataclass(frozen=True)
class MeetingPage:
    meetings: list[Meeting]
    total: int


@dataclass(frozen=True)
class GroupMembers:
    """A directory group and the users in it (nested groups resolved), as far as ``limit`` reaches."""

    id: int
    name: str
    members: list[tuple[int, str, str]]  # (user id, display name, e-mail)
    more: bool  # there are more members than were listed


@dataclass(frozen=True)
class Profile:
    time_zone: str
    language: str


def _meeting(row: MeetingRow, conference: ConferenceRow | None, invitees: list[MeetingInviteeRow],
             changes: list[MeetingOccurrenceRow]) -> Meeting:  # fmt: skip
    return Meeting(
        id=row.id,
        uid=row.uid,
        owner_id=row.owner_id,
        conference_id=row.conference_id,
        title=row.title,
        starts_at=_utc(row.starts_at),
        duration_minutes=row.duration_minutes,
        time_zone=row.time_zone,
        recurrence=row.recurrence,
        sequence=row.sequence,
        guests_allowed=row.guests_allowed,
        moderated=row.moderated,
        pin=row.pin,
        created_at=_utc(row.created_at),
        opened_until=_opt(row.opened_until),
        series_end=_opt(row.series_end),
        invitees=tuple(
            Invitee(
                id=i.id,
                user_id=i.user_id,
                email=i.email,
                display_name=i.display_name,
                answer=Answer(i.answer),
                group=i.group_name,
            )
            for i in sorted(invitees, key=lambda i: i.id)
        ),
        changes=tuple(
            OccurrenceChange(
                recurrence_id=_utc(c.recurrence_id),
                cancelled=c.cancelled,
                starts_at=_opt(c.starts_at),
                duration_minutes=c.duration_minutes,
            )
            for c in sorted(changes, key=lambda c: c.recurrence_id)
        ),
        conference_slug=conference.slug if conference else "",
        invite_code=conference.invite_code if conference else "",
    )


def _mine(user_id: int) -> ColumnElement[bool]:
    invited = (
        select(MeetingInviteeRow.id)
        .where(MeetingInviteeRow.meeting_id == MeetingRow.id, MeetingInviteeRow.user_id == user_id)
        .exists()
    )
    return or_(MeetingRow.owner_id == user_id, invited)


def _overlapping(window_from: datetime, window_to: datetime) -> ColumnElement[bool]:
    return (MeetingRow.starts_at < _utc(window_to)) & (
        MeetingRow.series_end.is_(None) | (MeetingRow.series_end > _utc(window_from))
    )


class MeetingStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    # -- the series -------------------------------------------------------------------------------------------

    async def create(
        self,
        *,
        uid_for: str,
        owner_id: int,
        conference_id: int,
        fields: MeetingFields,
        invitees: Sequence[NewInvitee],
        changes: Sequence[OccurrenceChange],
        now: datetime,
    ) -> Meeting:
        """Create the meeting with its invitees and exceptions in one transaction; ``uid_for`` is the UID with
        "{id}" where the new id goes."""
        async with self._sessions.begin() as session:
            row = MeetingRow(
                uid=f"pending-{conference_id}",
                owner_id=owner_id,
                conference_id=conference_id,
                sequence=0,
                created_at=_utc(now),
                **self._values(fields),
            )
            session.add(row)
            await session.flush()
            row.uid = uid_for.format(id=row.id)
            session.add_all(self._invitee_rows(row.id, invitees))
            session.add_all(self._change_rows(row.id, changes))
        found = await self.get(row.id)
        assert found is not None
        return found

    @staticmethod
    def _values(fields: MeetingFields) -> dict[str, object]:
        return {
            "title": fields.title,
            "starts_at": _utc(fields.starts_at),
            "duration_minutes": fields.duration_minutes,
            "time_zone": fields.time_zone,
            "recurrence": fields.recurrence,
            "series_end": _opt(fields.series_end),
            "guests_allowed": fields.guests_allowed,
            "moderated": fields.moderated,
            "pin": fields.pin,
        }

    @staticmethod
    def _invitee_rows(meeting_id: int, invitees: Sequence[NewInvitee]) -> list[MeetingInviteeRow]:
        return [
            MeetingInviteeRow(
                meeting_id=meeting_id,
                key=i.key,
                user_id=i.user_id,
                email=i.email,
                display_name=i.display_name,
                answer=Answer.NEEDS_ACTION.value,
                group_name=i.group,
            )
            for i in invitees
        ]

    @staticmethod
    def _change_rows(meeting_id: int, changes: Sequence[OccurrenceChange]) -> list[MeetingOccurrenceRow]:
        return [
            MeetingOccurrenceRow(
                meeting_id=meeting_id,
                recurrence_id=_utc(c.recurrence_id),
                cancelled=c.cancelled,
                starts_at=_opt(c.starts_at),
                duration_minutes=c.duration_minutes,
            )
            for c in changes
        ]

    async def get(self, meeting_id: int) -> Meeting | None:
        async with self._sessions() as session:
            row = await session.get(MeetingRow, meeting_id)
            if row is None:
                return None
            return (await self._complete(session, [row]))[0]

    async def by_conference(self, conference_id: int) -> Meeting | None:
        async with self._sessions() as session:
            row = await session.scalar(select(MeetingRow).where(MeetingRow.conference_id == conference_id))
            return (await self._complete(session, [row]))[0] if row is not None else None

    @staticmethod
    async def _complete(session: AsyncSession, rows: Sequence[MeetingRow]) -> list[Meeting]:
        ids = [r.id for r in rows]
        if not ids:
            return []
        invitees = list(await session.scalars(select(MeetingInviteeRow).where(MeetingInviteeRow.meeting_id.in_(ids))))
        changes = list(
            await session.scalars(select(MeetingOccurrenceRow).where(MeetingOccurrenceRow.meeting_id.in_(ids)))
        )
        conferences = {
            c.id: c
            for c in await session.scalars(
                select(ConferenceRow).where(ConferenceRow.id.in_([r.conference_id for r in rows]))
            )
        }
        return [
            _meeting(
                r,
                conferences.get(r.conference_id),
                [i for i in invitees if i.meeting_id == r.id],
                [c for c in changes if c.meeting_id == r.id],
            )
            for r in rows
        ]

    async def update(
        self,
        meeting_id: int,
        fields: MeetingFields,
        *,
        invitees: Sequence[NewInvitee] | None,
        clear_changes: bool,
        reset_answers: bool,
    ) -> Meeting | None:
        """Replace the series' fields and raise its SEQUENCE; ``invitees`` (None: unchanged) replaces the list,
        keeping the answers of those who stay unless ``reset_answers`` (the time changed: everyone answers again).
        ``clear_changes`` drops the occurrences changed alone (the rule or start changed: they no longer exist)."""
        async with self._sessions.begin() as session:
            row = await session.get(MeetingRow, meeting_id, with_for_update=True)
            if row is None:
                return None
            for name, value in self._values(fields).items():
                setattr(row, name, value)
            row.sequence += 1
            if clear_changes:
                await session.execute(delete(MeetingOccurrenceRow).where(MeetingOccurrenceRow.meeting_id == meeting_id))
            if invitees is not None:
                await self._replace_invitees(session, meeting_id, invitees)
            if reset_answers:
                await session.execute(
                    update(MeetingInviteeRow)
                    .where(MeetingInviteeRow.meeting_id == meeting_id)
                    .values(answer=Answer.NEEDS_ACTION.value)
                )
        return await self.get(meeting_id)

    @staticmethod
    async def _replace_invitees(session: AsyncSession, meeting_id: int, invitees: Sequence[NewInvitee]) -> None:
        wanted = {i.key: i for i in invitees}
        existing = {
            r.key: r
            for r in await session.scalars(select(MeetingInviteeRow).where(MeetingInviteeRow.meeting_id == meeting_id))
        }
        gone = [r.id for k, r in existing.items() if k not in wanted]
        if gone:
            await session.execute(delete(MeetingInviteeRow).where(MeetingInviteeRow.id.in_(gone)))
        session.add_all(MeetingStore._invitee_rows(meeting_id, [i for k, i in wanted.items() if k not in existing]))

    async def set_change(
        self, meeting_id: int, change: OccurrenceChange, *, series_end: datetime | None
    ) -> Meeting | None:
        """Change or cancel one occurrence alone (replacing an earlier change of it), raise SEQUENCE and store the
        series' end as it now is."""
        async with self._sessions.begin() as session:
            row = await session.get(MeetingRow, meeting_id, with_for_update=True)
            if row is None:
                return None
            row.sequence += 1
            row.series_end = _opt(series_end)
            await session.execute(
                delete(MeetingOccurrenceRow).where(
                    MeetingOccurrenceRow.meeting_id == meeting_id,
                    MeetingOccurrenceRow.recurrence_id == _utc(change.recurrence_id),
                )
            )
            session.add_all(self._change_rows(meeting_id, [change]))
        return await self.get(meeting_id)

    async def set_opened_until(self, meeting_id: int, until: datetime | None) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(MeetingRow).where(MeetingRow.id == meeting_id).values(opened_until=_opt(until))
            )

    async def delete(self, meeting_id: int) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(MeetingRow).where(MeetingRow.id == meeting_id))
            return bool(getattr(result, "rowcount", 0))

    async def set_answer(self, meeting_id: int, invitee_id: int, answer: Answer) -> bool:
        """False if that invitee is not (or no longer) invited to that meeting."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(MeetingInviteeRow)
                .where(MeetingInviteeRow.id == invitee_id, MeetingInviteeRow.meeting_id == meeting_id)
                .values(answer=answer.value)
            )
            return bool(getattr(result, "rowcount", 0))

    # -- lists ------------------------------------------------------------------------------------------------

    async def mine(self, user_id: int, *, limit: int = 50, offset: int = 0) -> MeetingPage:
        """The meetings ``user_id`` owns or is invited to, by first start (newest series last), one page."""
        condition = _mine(user_id)
        async with self._sessions() as session:
            rows = list(
                await session.scalars(
                    select(MeetingRow)
                    .where(condition)
                    .order_by(MeetingRow.starts_at, MeetingRow.id)
                    .limit(limit)
                    .offset(offset)
                )
            )
            total = int(await session.scalar(select(func.count()).select_from(MeetingRow).where(condition)) or 0)
            return MeetingPage(meetings=await self._complete(session, rows), total=total)

    async def mine_between(
        self, user_id: int, window_from: datetime, window_to: datetime, *, limit: int = 500
    ) -> list[Meeting]:
        """``user_id``'s meetings that may have an occurrence in the window (the caller expands them)."""
        async with self._sessions() as session:
            rows = list(
                await session.scalars(
                    select(MeetingRow)
                    .where(_mine(user_id), _overlapping(window_from, window_to))
                    .order_by(MeetingRow.starts_at, MeetingRow.id)
                    .limit(limit)
                )
            )
            return await self._complete(session, rows)

    async def between(
        self, window_from: datetime, window_to: datetime, *, after_id: int = 0, limit: int = 200
    ) -> list[Meeting]:
        """Every meeting that may have an occurrence in the window, by id after ``after_id`` (keyset pages)."""
        async with self._sessions() as session:
            rows = list(
                await session.scalars(
                    select(MeetingRow)
                    .where(_overlapping(window_from, window_to), MeetingRow.id > after_id)
                    .order_by(MeetingRow.id)
                    .limit(limit)
                )
            )
            return await self._complete(session, rows)

    async def group_members(self, group_id: int, *, limit: int) -> GroupMembers | None:
        """The group's enabled users, at most ``limit`` (``more`` says there were more); None: no such group."""
        async with self._sessions() as session:
            group = await session.get(DirectoryGroupRow, group_id)
            if group is None:
                return None
            rows = (
                await session.execute(
                    select(UserRow.id, UserRow.display_name, UserRow.email)
                    .join(DirectoryUserGroupRow, DirectoryUserGroupRow.user_id == UserRow.id)
                    .where(DirectoryUserGroupRow.group_id == group_id, UserRow.disabled.is_(False))
                    .order_by(UserRow.id)
                    .limit(limit + 1)
                )
            ).all()
        members = [(int(r[0]), str(r[1]), str(r[2])) for r in rows]
        return GroupMembers(id=group.id, name=group.name, members=members[:limit], more=len(members) > limit)

    async def search_groups(self, query: str, *, limit: int = 20) -> list[tuple[int, str]]:
        """Directory groups whose name contains ``query`` (case-insensitive), by name."""
        literal = query.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(DirectoryGroupRow.id, DirectoryGroupRow.name)
                    .where(func.lower(DirectoryGroupRow.name).like(f"%{literal}%", escape="\\"))
                    .order_by(DirectoryGroupRow.name, DirectoryGroupRow.id)
                    .limit(limit)
                )
            ).all()
        return [(int(r[0]), str(r[1])) for r in rows]

    # -- reminders --------------------------------------------------------------------------------------------

    async def claim_reminder(
        self, meeting_id: int, recurrence_id: datetime, recipient: str, lead_minutes: int, now: datetime
    ) -> bool:
        """Record that this reminder goes; False if it was recorded before (by this or another base server)."""
        try:
            async with self._sessions.begin() as session:
                session.add(
                    MeetingReminderRow(
                        meeting_id=meeting_id,
                        recurrence_id=_utc(recurrence_id),
                        recipient=recipient,
                        lead_minutes=lead_minutes,
                        sent_at=_utc(now),
                    )
                )
            return True
        except IntegrityError:
            return False

    # -- feed tokens and profiles -----------------------------------------------------------------------------

    async def set_feed_token(self, user_id: int, token_hash: str, now: datetime) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(MeetingFeedTokenRow).where(MeetingFeedTokenRow.user_id == user_id))
            session.add(MeetingFeedTokenRow(user_id=user_id, token_hash=token_hash, created_at=_utc(now)))

    async def has_feed_token(self, user_id: int) -> bool:
        async with self._sessions() as session:
            return (await session.get(MeetingFeedTokenRow, user_id)) is not None

    async def feed_user(self, token_hash: str) -> int | None:
        async with self._sessions() as session:
            user_id = await session.scalar(
                select(MeetingFeedTokenRow.user_id)
                .join(UserRow, UserRow.id == MeetingFeedTokenRow.user_id)
                .where(MeetingFeedTokenRow.token_hash == token_hash, UserRow.disabled.is_(False))
            )
            return int(user_id) if user_id is not None else None

    async def profile(self, user_id: int) -> Profile | None:
        async with self._sessions() as session:
            row = await session.get(UserProfileRow, user_id)
            return Profile(time_zone=row.time_zone, language=row.language) if row else None

    async def set_profile(self, user_id: int, profile: Profile) -> None:
        try:
            async with self._sessions.begin() as session:
                row = await session.get(UserProfileRow, user_id)
                if row is None:
                    session.add(UserProfileRow(user_id=user_id, time_zone=profile.time_zone, language=profile.language))
                else:
                    row.time_zone, row.language = profile.time_zone, profile.language
        except IntegrityError as e:
            raise Conflict("The profile could not be saved (was the account deleted?).") from e

    async def set_avatar(self, user_id: int, picture: tuple[bytes, str] | None, default: Profile) -> None:
        """Store (or with None remove) his picture and its content type; a profile is made with ``default``."""
        data, kind = picture if picture is not None else (None, None)
        try:
            async with self._sessions.begin() as session:
                row = await session.get(UserProfileRow, user_id)
                if row is None:
                    row = UserProfileRow(user_id=user_id, time_zone=default.time_zone, language=default.language)
                    session.add(row)
                row.avatar, row.avatar_type = data, kind
        except IntegrityError as e:
            raise Conflict("The picture could not be saved (was the account deleted?).") from e

    async def avatar(self, user_id: int) -> tuple[bytes, str] | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(UserProfileRow.avatar, UserProfileRow.avatar_type).where(UserProfileRow.user_id == user_id)
                )
            ).first()
        if row is None or row[0] is None or row[1] is None:
            return None
        return bytes(row[0]), str(row[1])
