"""Storage of the notifications: the mail queue, notices with their push deliveries, subscriptions, devices and
preferences (tables in notify_tables.py).

Queued items are claimed by setting a lease (``claimed_by``, ``claimed_until``): on PostgreSQL the due rows are
first locked ``FOR UPDATE SKIP LOCKED`` (another server's claim skips them) and then claimed; on SQLite one
UPDATE … WHERE id IN (due ids) does it under the database's single write lock. The UPDATE checks again that no
lease holds a row, so two base servers never claim the same item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.domain.notifications import Notice
from veche.storage.notify_tables import (
    MailOutboxRow,
    NoticePreferenceRow,
    NoticeRow,
    PushDeliveryRow,
    PushDeviceRow,
    PushSubscriptionRow,
)
from veche.storage.tables import UserRow

__all__ = [
    "ClaimedMail",
    "ClaimedPush",
    "KindPreference",
    "MailQueueStore",
    "NoticePage",
    "NoticeStore",
    "PushTargetStore",
    "QueuedMail",
    "Recipient",
    "StoredNotice",
    "WebPushTarget",
]

Sessions = async_sessionmaker[AsyncSession]


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _free(row: Any, now: datetime) -> Any:
    return or_(row.claimed_until.is_(None), row.claimed_until < now)


async def _claim(
    session: AsyncSession, row: Any, *, worker: str, now: datetime, lease: timedelta, limit: int
) -> list[int]:
    due: Select[Any] = (
        select(row.id)
        .where(row.status == "queued", row.next_attempt_at <= now, _free(row, now))
        .order_by(row.next_attempt_at, row.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Lock the due rows first, then claim exactly those: inside UPDATE … IN (…) PostgreSQL may run a LIMIT …
        # SKIP LOCKED subquery more than once and claim more than ``limit`` rows.
        ids = list(await session.scalars(due.with_for_update(skip_locked=True)))
        if not ids:
            return []
        target: Any = row.id.in_(ids)
    else:
        target = row.id.in_(due)  # one statement: SQLite evaluates the subquery once, with the write lock held
    result = await session.execute(
        update(row)
        .where(target, row.status == "queued", _free(row, now))
        .values(claimed_by=worker, claimed_until=now + lease)
        .returning(row.id)
    )
    return sorted(result.scalars())


async def _retry_later(
    sessions: async_sessionmaker[AsyncSession], table: Any, row_id: int, at: datetime, error: str
) -> None:
    """A claimed row of a queue (mails, pushes) failed for now: free it, due again at ``at``."""
    async with sessions.begin() as session:
        await session.execute(
            update(table)
            .where(table.id == row_id)
            .values(
                next_attempt_at=at, attempts=table.attempts + 1, claimed_by=None, claimed_until=None, last_error=error
            )
        )


async def _release_claims_of(sessions: async_sessionmaker[AsyncSession], table: Any, worker: str) -> int:
    async with sessions.begin() as session:
        result = await session.execute(
            update(table)
            .where(table.claimed_by == worker, table.status == "queued")
            .values(claimed_by=None, claimed_until=None)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


async def _counts(sessions: async_sessionmaker[AsyncSession], table: Any, statuses: Sequence[str]) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(select(table.status, func.count()).group_by(table.status))
        return dict.fromkeys(statuses, 0) | {status: int(n) for status, n in rows.all()}


@dataclass(frozen=True)
class QueuedMail:
    """A rendered mail to enqueue."""

    key: str
    recipient: str
    message_id: str
    message: bytes


@dataclass(frozen=True)
class ClaimedMail:
    id: int
    key: str
    recipient: str
    message: bytes
    attempts: int
    created_at: datetime


class MailQueueStore:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    @staticmethod
    async def add_in(session: AsyncSession, mails: Sequence[QueuedMail], now: datetime) -> None:
        """Queue ``mails`` in ``session``'s transaction; a key already queued or sent is left as it is."""
        if not mails:
            return
        values = [
            {
                "key": m.key,
                "recipient": m.recipient,
                "message_id": m.message_id,
                "message": m.message,
                "status": "queued",
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
            for m in mails
        ]
        await session.execute(_insert(session, MailOutboxRow).values(values).on_conflict_do_nothing())

    async def add(self, mails: Sequence[QueuedMail], now: datetime) -> None:
        async with self._sessions.begin() as session:
            await self.add_in(session, mails, now)

    async def claim(self, *, worker: str, now: datetime, lease: timedelta, limit: int) -> list[ClaimedMail]:
        """Take up to ``limit`` due mails for ``worker`` until ``now + lease``."""
        async with self._sessions.begin() as session:
            ids = await _claim(session, MailOutboxRow, worker=worker, now=now, lease=lease, limit=limit)
            if not ids:
                return []
            rows = await session.scalars(select(MailOutboxRow).where(MailOutboxRow.id.in_(ids)))
            return sorted(
                (ClaimedMail(r.id, r.key, r.recipient, r.message, r.attempts, _utc(r.created_at)) for r in rows),
                key=lambda m: m.id,
            )

    async def mark_sent(self, mail_id: int, now: datetime) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(MailOutboxRow)
                .where(MailOutboxRow.id == mail_id)
                .values(
                    status="sent",
                    sent_at=now,
                    attempts=MailOutboxRow.attempts + 1,
                    claimed_by=None,
                    claimed_until=None,
                    last_error=None,
                )
            )

    async def retry_later(self, mail_id: int, *, at: datetime, error: str) -> None:
        await _retry_later(self._sessions, MailOutboxRow, mail_id, at, error)

    async def release(self, mail_ids: Sequence[int]) -> None:
        """Give back claimed mails not attempted (e.g. the connection failed before them)."""
        if not mail_ids:
            return
        async with self._sessions.begin() as session:
            await session.execute(
                update(MailOutboxRow).where(MailOutboxRow.id.in_(mail_ids)).values(claimed_by=None, claimed_until=None)
            )

    async def fail(self, mail_id: int, *, error: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(MailOutboxRow)
                .where(MailOutboxRow.id == mail_id)
                .values(
                    status="failed",
                    attempts=MailOutboxRow.attempts + 1,
                    claimed_by=None,
                    claimed_until=None,
                    last_error=error,
                )
            )

    async def release_claims_of(self, worker: str) -> int:
        """Free what ``worker`` held when it stopped (called as it starts again)."""
        return await _release_claims_of(self._sessions, MailOutboxRow, worker)

    async def counts(self) -> dict[str, int]:
        """How many mails are queued, sent, failed."""
        return await _counts(self._sessions, MailOutboxRow, ("queued", "sent", "failed"))

    async def state_of(self, key: str) -> tuple[str, int, str | None] | None:
        """(status, attempts, last error) of the mail queued under ``key``."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(MailOutboxRow.status, MailOutboxRow.attempts, MailOutboxRow.last_error).where(
                        MailOutboxRow.key == key
                    )
                )
            ).first()
            return None if row is None else (row[0], int(row[1]), row[2])

    async def next_due(self) -> datetime | None:
        """When the next queued mail is due (None: none queued)."""
        async with self._sessions() as session:
            at = await session.scalar(
                select(func.min(MailOutboxRow.next_attempt_at)).where(MailOutboxRow.status == "queued")
            )
            return None if at is None else _utc(at)


# -- notices ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindPreference:
    email: bool = True
    push: bool = True

    @staticmethod
    def default(kind: str) -> KindPreference:
        """What a user who chose nothing gets: everything, except a mail for every chat message (push only)."""
        return KindPreference(email=False, push=True) if kind == "message" else KindPreference()


@dataclass(frozen=True)
class StoredNotice:
    id: int
    kind: str
    title: str
    body: str
    url: str
    created_at: datetime
    read: bool


@dataclass(frozen=True)
class NoticePage:
    items: list[StoredNotice]
    unread: int
    next_before: int | None  # pass as ``before`` for the next (older) page; None: this was the last


@dataclass(frozen=True)
class Recipient:
    email: str
    display_name: str
    preferences: dict[str, KindPreference]


class NoticeStore:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def recipient(self, user_id: int) -> Recipient | None:
        """His address and preferences (None: no such user, or disabled)."""
        async with self._sessions() as session:
            user = await session.get(UserRow, user_id)
            if user is None or user.disabled:
                return None
            prefs = await session.scalars(select(NoticePreferenceRow).where(NoticePreferenceRow.user_id == user_id))
            return Recipient(user.email, user.display_name, {p.kind: KindPreference(p.email, p.push) for p in prefs})

    async def add(self, notice: Notice, *, now: datetime, push: bool, mail: QueuedMail | None) -> int | None:
        """Store ``notice``, its push deliveries (one per browser and device of the user, if ``push``) and ``mail``
        in one transaction. None if a notice with its key was stored before (nothing else is queued then)."""
        async with self._sessions.begin() as session:
            notice_id = await session.scalar(
                _insert(session, NoticeRow)
                .values(
                    user_id=notice.user_id,
                    key=notice.key,
                    kind=notice.kind,
                    title=notice.title[:500],
                    body=notice.body,
                    url=notice.url[:2000],
                    created_at=now,
                    read=False,
                )
                .on_conflict_do_nothing(index_elements=["user_id", "key"])
                .returning(NoticeRow.id)
            )
            if notice_id is None:
                return None
            if push:
                targets: list[dict[str, Any]] = [
                    {"subscription_id": sid, "device_id": None}
                    for sid in await session.scalars(
                        select(PushSubscriptionRow.id).where(PushSubscriptionRow.user_id == notice.user_id)
                    )
                ] + [
                    {"subscription_id": None, "device_id": did}
                    for did in await session.scalars(
                        select(PushDeviceRow.id).where(PushDeviceRow.user_id == notice.user_id)
                    )
                ]
                if targets:
                    common = {
                        "notice_id": notice_id,
                        "status": "queued",
                        "attempts": 0,
                        "created_at": now,
                        "next_attempt_at": now,
                    }
                    await session.execute(_insert(session, PushDeliveryRow).values([{**common, **t} for t in targets]))
            if mail is not None:
                await MailQueueStore.add_in(session, [mail], now)
            return int(notice_id)

    async def page(self, user_id: int, *, limit: int, before: int | None = None) -> NoticePage:
        """His notices, newest first, ``limit`` of them with ids below ``before``; and his unread count."""
        async with self._sessions() as session:
            query = select(NoticeRow).where(NoticeRow.user_id == user_id)
            if before is not None:
                query = query.where(NoticeRow.id < before)
            rows = list(await session.scalars(query.order_by(NoticeRow.id.desc()).limit(limit + 1)))
            unread = await session.scalar(
                select(func.count())
                .select_from(NoticeRow)
                .where(NoticeRow.user_id == user_id, NoticeRow.read.is_(False))
            )
        items = [StoredNotice(r.id, r.kind, r.title, r.body, r.url, _utc(r.created_at), r.read) for r in rows[:limit]]
        return NoticePage(items, int(unread or 0), items[-1].id if len(rows) > limit else None)

    async def mark_read(self, user_id: int, up_to: int) -> int:
        """Mark his notices with ids up to ``up_to`` read; his unread count after."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(NoticeRow)
                .where(NoticeRow.user_id == user_id, NoticeRow.id <= up_to, NoticeRow.read.is_(False))
                .values(read=True)
            )
            unread = await session.scalar(
                select(func.count())
                .select_from(NoticeRow)
                .where(NoticeRow.user_id == user_id, NoticeRow.read.is_(False))
            )
            return int(unread or 0)

    async def preferences(self, user_id: int) -> dict[str, KindPreference]:
        async with self._sessions() as session:
            rows = await session.scalars(select(NoticePreferenceRow).where(NoticePreferenceRow.user_id == user_id))
            return {r.kind: KindPreference(r.email, r.push) for r in rows}

    async def set_preferences(self, user_id: int, kinds: dict[str, KindPreference]) -> None:
        """Replace his preferences for the kinds given."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(NoticePreferenceRow).where(
                    NoticePreferenceRow.user_id == user_id, NoticePreferenceRow.kind.in_(list(kinds))
                )
            )
            if kinds:
                await session.execute(
                    _insert(session, NoticePreferenceRow).values(
                        [{"user_id": user_id, "kind": k, "email": p.email, "push": p.push} for k, p in kinds.items()]
                    )
                )


# -- push targets and deliveries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebPushTarget:
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class ClaimedPush:
    id: int
    attempts: int
    created_at: datetime
    notice: StoredNotice
    subscription_id: int | None
    web: WebPushTarget | None
    device_id: int | None
    device: tuple[str, str] | None  # (provider, token)


class PushTargetStore:
    """Browsers' subscriptions, devices' tokens and the queue of pushes to them."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def subscribe(self, user_id: int, target: WebPushTarget, now: datetime) -> int:
        """Store a browser's subscription; an endpoint stored before keeps its id and takes this user and keys."""
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(PushSubscriptionRow).where(PushSubscriptionRow.endpoint == target.endpoint)
            )
            if row is None:
                row = PushSubscriptionRow(endpoint=target.endpoint, created_at=now)
                session.add(row)
            row.user_id, row.p256dh, row.auth = user_id, target.p256dh, target.auth
            await session.flush()
            return row.id

    async def unsubscribe(self, user_id: int, subscription_id: int) -> bool:
        """Remove his subscription; False if he has none with that id."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(PushSubscriptionRow).where(
                    PushSubscriptionRow.user_id == user_id, PushSubscriptionRow.id == subscription_id
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def drop_subscription(self, subscription_id: int) -> None:
        """The push service said the subscription is gone (404/410): forget it and its queued pushes."""
        async with self._sessions.begin() as session:
            await session.execute(delete(PushSubscriptionRow).where(PushSubscriptionRow.id == subscription_id))

    async def subscription_count(self, user_id: int) -> int:
        async with self._sessions() as session:
            n = await session.scalar(
                select(func.count()).select_from(PushSubscriptionRow).where(PushSubscriptionRow.user_id == user_id)
            )
            return int(n or 0)

    async def add_device(self, user_id: int, provider: str, token: str, now: datetime) -> int:
        """Store a device's token; a token stored before keeps its id and moves to this user."""
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(PushDeviceRow).where(PushDeviceRow.provider == provider, PushDeviceRow.token == token)
            )
            if row is None:
                row = PushDeviceRow(provider=provider, token=token, created_at=now)
                session.add(row)
            row.user_id = user_id
            await session.flush()
            return row.id

    async def remove_device(self, user_id: int, device_id: int) -> bool:
        """Remove his device; False if he has none with that id."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(PushDeviceRow).where(PushDeviceRow.user_id == user_id, PushDeviceRow.id == device_id)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def drop_device(self, device_id: int) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(PushDeviceRow).where(PushDeviceRow.id == device_id))

    async def claim(self, *, worker: str, now: datetime, lease: timedelta, limit: int) -> list[ClaimedPush]:
        async with self._sessions.begin() as session:
            ids = await _claim(session, PushDeliveryRow, worker=worker, now=now, lease=lease, limit=limit)
            if not ids:
                return []
            rows = await session.execute(
                select(PushDeliveryRow, NoticeRow, PushSubscriptionRow, PushDeviceRow)
                .join(NoticeRow, NoticeRow.id == PushDeliveryRow.notice_id)
                .outerjoin(PushSubscriptionRow, PushSubscriptionRow.id == PushDeliveryRow.subscription_id)
                .outerjoin(PushDeviceRow, PushDeviceRow.id == PushDeliveryRow.device_id)
                .where(PushDeliveryRow.id.in_(ids))
                .order_by(PushDeliveryRow.id)
            )
            claimed = []
            for delivery, n, sub, dev in rows.all():
                claimed.append(
                    ClaimedPush(
                        id=delivery.id,
                        attempts=delivery.attempts,
                        created_at=_utc(delivery.created_at),
                        notice=StoredNotice(n.id, n.kind, n.title, n.body, n.url, _utc(n.created_at), n.read),
                        subscription_id=delivery.subscription_id,
                        web=WebPushTarget(sub.endpoint, sub.p256dh, sub.auth) if sub is not None else None,
                        device_id=delivery.device_id,
                        device=(dev.provider, dev.token) if dev is not None else None,
                    )
                )
            return claimed

    async def finish(self, delivery_id: int, status: str, error: str | None = None) -> None:
        """``status``: sent, failed, gone."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(PushDeliveryRow)
                .where(PushDeliveryRow.id == delivery_id)
                .values(
                    status=status,
                    attempts=PushDeliveryRow.attempts + 1,
                    claimed_by=None,
                    claimed_until=None,
                    last_error=error,
                )
            )

    async def retry_later(self, delivery_id: int, *, at: datetime, error: str) -> None:
        await _retry_later(self._sessions, PushDeliveryRow, delivery_id, at, error)

    async def release_claims_of(self, worker: str) -> int:
        return await _release_claims_of(self._sessions, PushDeliveryRow, worker)

    async def counts(self) -> dict[str, int]:
        return await _counts(self._sessions, PushDeliveryRow, ("queued", "sent", "failed", "gone"))
