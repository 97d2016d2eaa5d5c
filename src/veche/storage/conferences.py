"""Conference and chat persistence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.domain.conference_numbers import new_conference_number
from veche.domain.errors import Conflict, InvalidInput
from veche.domain.model import Conference, ConferenceAccess, ConferenceType, VideoCodec
from veche.domain.room import ChatEntry
from veche.storage.tables import ChatMessageRow, ConferenceMemberRow, ConferenceRow

__all__ = ["ChatStore", "ConferencePage", "ConferenceStore"]


@dataclass(frozen=True)
class ConferencePage:
    """One page of the console's conference list and how many match the search in all."""

    conferences: list[Conference]
    total: int


def _aware(ts: datetime) -> datetime:
    # SQLite returns naive datetimes; everything Veche stores is UTC.
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _conference(row: ConferenceRow, members: list[ConferenceMemberRow]) -> Conference:
    return Conference(
        id=row.id,
        name=row.name,
        owner_id=row.owner_id,
        type=ConferenceType(row.type),
        max_participants=row.max_participants,
        guests_allowed=row.guests_allowed,
        access=ConferenceAccess(row.access),
        invite_code=row.invite_code,
        slug=row.slug,
        number=row.number,
        call_pair=row.call_pair,
        created_at=_aware(row.created_at),
        invited=frozenset(m.user_id for m in members if m.role == "invited"),
        moderators=frozenset(m.user_id for m in members if m.role == "moderator"),
        video_codec=VideoCodec(row.video_codec) if row.video_codec else None,
    )


class ConferenceStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create(
        self,
        *,
        name: str,
        owner_id: int,
        type: ConferenceType,
        max_participants: int,
        guests_allowed: bool,
        access: ConferenceAccess,
        invite_code: str,
        slug: str,
        invited: set[int],
        call_pair: str | None = None,
        moderators: set[int],
        now: datetime,
        video_codec: VideoCodec | None = None,
        number: str | None = None,
    ) -> Conference:
        """Create a conference and its members in one transaction: all of it or nothing. Without ``number`` it
        gets a free random one."""
        row = ConferenceRow(
            name=name,
            owner_id=owner_id,
            type=type.value,
            max_participants=max_participants,
            guests_allowed=guests_allowed,
            access=access.value,
            invite_code=invite_code,
            slug=slug,
            call_pair=call_pair,
            created_at=now,
            video_codec=video_codec.value if video_codec is not None else None,
        )
        try:
            async with self._sessions.begin() as session:
                row.number = number or await self._free_number(session)
                session.add(row)
                await session.flush()
                members = [ConferenceMemberRow(conference_id=row.id, user_id=u, role="invited") for u in invited]
                members += [ConferenceMemberRow(conference_id=row.id, user_id=u, role="moderator") for u in moderators]
                session.add_all(members)
                await session.flush()
                return _conference(row, members)
        except IntegrityError as e:
            raise Conflict("The conference could not be created (a referenced user does not exist?).") from e

    @staticmethod
    async def _free_number(session: AsyncSession) -> str:
        # 90 million numbers: a taken one is rare, so a few tries always find one (the unique index decides races).
        while True:
            number = new_conference_number()
            if await session.scalar(select(ConferenceRow.id).where(ConferenceRow.number == number)) is None:
                return number

    async def get(self, conference_id: int) -> Conference | None:
        async with self._sessions() as session:
            row = await session.get(ConferenceRow, conference_id)
            if row is None:
                return None
            members = list(
                await session.scalars(
                    select(ConferenceMemberRow).where(ConferenceMemberRow.conference_id == conference_id)
                )
            )
            return _conference(row, members)

    async def by_invite_code(self, code: str) -> Conference | None:
        async with self._sessions() as session:
            conference_id = await session.scalar(select(ConferenceRow.id).where(ConferenceRow.invite_code == code))
        return await self.get(conference_id) if conference_id is not None else None

    async def by_call_pair(self, pair: str) -> Conference | None:
        async with self._sessions() as session:
            conference_id = await session.scalar(select(ConferenceRow.id).where(ConferenceRow.call_pair == pair))
        return await self.get(conference_id) if conference_id is not None else None

    async def by_number(self, number: str) -> Conference | None:
        async with self._sessions() as session:
            conference_id = await session.scalar(select(ConferenceRow.id).where(ConferenceRow.number == number))
        return await self.get(conference_id) if conference_id is not None else None

    async def by_slug(self, slug: str) -> Conference | None:
        async with self._sessions() as session:
            conference_id = await session.scalar(select(ConferenceRow.id).where(ConferenceRow.slug == slug))
        return await self.get(conference_id) if conference_id is not None else None

    async def list_all(self, *, limit: int = 500) -> list[Conference]:
        async with self._sessions() as session:
            rows = list(await session.scalars(select(ConferenceRow).order_by(ConferenceRow.id).limit(limit)))
            return await self._with_members(session, rows)

    async def page(self, *, query: str = "", limit: int = 50, offset: int = 0) -> ConferencePage:
        """Every conference, ordered by name, ``limit`` from ``offset``, those whose name contains ``query``
        (case-insensitive); the database does the paging and the counting."""
        listed = select(ConferenceRow)
        counted = select(func.count()).select_from(ConferenceRow)
        if query.strip():
            literal = query.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            condition = func.lower(ConferenceRow.name).like(f"%{literal}%", escape="\\")
            listed, counted = listed.where(condition), counted.where(condition)
        async with self._sessions() as session:
            rows = list(
                await session.scalars(listed.order_by(ConferenceRow.name, ConferenceRow.id).limit(limit).offset(offset))
            )
            conferences = await self._with_members(session, rows)
            total = int(await session.scalar(counted) or 0)
        return ConferencePage(conferences=conferences, total=total)

    async def visible_page(
        self, user_id: int, *, is_admin: bool, calls: bool = True, limit: int = 100, offset: int = 0
    ) -> ConferencePage:
        """The conferences a user may see (as :func:`veche.domain.admission.may_see` decides), newest first,
        ``limit`` from ``offset``; ``calls=False`` leaves out ad hoc calls. The database filters, pages and counts."""
        conditions = []
        if not is_admin:
            member = (
                select(ConferenceMemberRow.conference_id)
                .where(ConferenceMemberRow.conference_id == ConferenceRow.id, ConferenceMemberRow.user_id == user_id)
                .exists()
            )
            conditions.append(
                or_(ConferenceRow.owner_id == user_id, ConferenceRow.access == ConferenceAccess.OPEN.value, member)
            )
        if not calls:
            conditions.append(ConferenceRow.call_pair.is_(None))
        listed = select(ConferenceRow).where(*conditions)
        counted = select(func.count()).select_from(ConferenceRow).where(*conditions)
        async with self._sessions() as session:
            rows = list(await session.scalars(listed.order_by(ConferenceRow.id.desc()).limit(limit).offset(offset)))
            conferences = await self._with_members(session, rows)
            total = int(await session.scalar(counted) or 0)
        return ConferencePage(conferences=conferences, total=total)

    @staticmethod
    async def _with_members(session: AsyncSession, rows: list[ConferenceRow]) -> list[Conference]:
        ids = [r.id for r in rows]
        members = (
            list(await session.scalars(select(ConferenceMemberRow).where(ConferenceMemberRow.conference_id.in_(ids))))
            if ids
            else []
        )
        by_conf: dict[int, list[ConferenceMemberRow]] = {}
        for m in members:
            by_conf.setdefault(m.conference_id, []).append(m)
        return [_conference(r, by_conf.get(r.id, [])) for r in rows]

    async def update(
        self,
        conference_id: int,
        *,
        name: str | None = None,
        type: ConferenceType | None = None,
        max_participants: int | None = None,
        guests_allowed: bool | None = None,
        access: ConferenceAccess | None = None,
        invited: set[int] | None = None,
        moderators: set[int] | None = None,
    ) -> Conference | None:
        """Change the given fields (None: unchanged; ``invited``/``moderators`` replace the lists) in one
        transaction; None if the conference is gone."""
        try:
            async with self._sessions.begin() as session:
                row = await session.get(ConferenceRow, conference_id)
                if row is None:
                    return None
                if name is not None:
                    row.name = name
                if type is not None:
                    row.type = type.value
                if max_participants is not None:
                    row.max_participants = max_participants
                if guests_allowed is not None:
                    row.guests_allowed = guests_allowed
                if access is not None:
                    row.access = access.value
                for role, ids in (("invited", invited), ("moderator", moderators)):
                    if ids is None:
                        continue
                    await session.execute(
                        delete(ConferenceMemberRow).where(
                            ConferenceMemberRow.conference_id == conference_id, ConferenceMemberRow.role == role
                        )
                    )
                    session.add_all(ConferenceMemberRow(conference_id=conference_id, user_id=u, role=role) for u in ids)
                await session.flush()
                members = list(
                    await session.scalars(
                        select(ConferenceMemberRow).where(ConferenceMemberRow.conference_id == conference_id)
                    )
                )
                return _conference(row, members)
        except IntegrityError as e:
            raise Conflict("The conference could not be changed (a referenced user does not exist?).") from e

    async def delete(self, conference_id: int) -> bool:
        """Delete the conference with its members and chat; False if it did not exist."""
        async with self._sessions.begin() as session:
            result = await session.execute(delete(ConferenceRow).where(ConferenceRow.id == conference_id))
            return bool(getattr(result, "rowcount", 0))


class ChatStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, conference_id: int, entry: ChatEntry) -> None:
        text = entry.text
        if not text:
            raise InvalidInput("A chat message cannot be empty.")
        async with self._sessions.begin() as session:
            session.add(
                ChatMessageRow(
                    conference_id=conference_id,
                    sender=entry.sender,
                    display_name=entry.display_name,
                    text=text,
                    created_at=datetime.fromisoformat(entry.ts),
                )
            )

    async def delete_before(self, cutoff: datetime) -> int:
        """Delete every chat message older than ``cutoff``, in one statement; how many went."""
        cutoff = _aware(cutoff).astimezone(UTC)  # stored as UTC (SQLite keeps no offset: compare like with like)
        async with self._sessions.begin() as session:
            result = await session.execute(delete(ChatMessageRow).where(ChatMessageRow.created_at < cutoff))
            return int(getattr(result, "rowcount", 0) or 0)

    async def recent(self, conference_id: int, limit: int = 100) -> list[ChatEntry]:
        async with self._sessions() as session:
            rows = list(
                await session.scalars(
                    select(ChatMessageRow)
                    .where(ChatMessageRow.conference_id == conference_id)
                    .order_by(ChatMessageRow.created_at.desc(), ChatMessageRow.id.desc())
                    .limit(limit)
                )
            )
        return [
            ChatEntry(sender=r.sender, display_name=r.display_name, text=r.text, ts=_aware(r.created_at).isoformat())
            for r in reversed(rows)
        ]
