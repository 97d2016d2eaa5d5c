"""Reminders before each occurrence of a scheduled meeting, ``[meetings] reminder_minutes`` before the start, to the
organiser and every invitee who has not declined: users get a notice ("reminder"), which the notifier shows in the
app, pushes and mails as their preferences say; people invited by e-mail get a mail with the guest link.

Each reminder is claimed in the database (meeting, occurrence, person, lead) before it is handed to the mailer, so
it goes once per occurrence and person across restarts and with several base servers. A reminder whose time passed
while no base server ran goes late, while the occurrence has not started; only the nearest lead is sent then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from veche.base.meeting_mail import MeetingMail
from veche.base.meetings import MeetingService
from veche.domain.clock import Clock
from veche.domain.meetings import Answer, Invitee, Meeting, Occurrence
from veche.domain.notifications import Mailer, Notice, Notifier, OutgoingMail
from veche.storage.users import UserStore

__all__ = ["DueReminder", "MeetingReminders", "due_reminders"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DueReminder:
    occurrence: Occurrence
    lead_minutes: int


def due_reminders(occurrences: Sequence[Occurrence], leads: Sequence[int], now: datetime) -> list[DueReminder]:
    """For each occurrence not yet started, the nearest lead whose time has come (pure)."""
    found = []
    for occurrence in occurrences:
        if occurrence.starts_at <= now:
            continue
        due = [lead for lead in leads if occurrence.starts_at - timedelta(minutes=lead) <= now]
        if due:
            found.append(DueReminder(occurrence, min(due)))
    return found


class MeetingReminders:
    def __init__(
        self,
        meetings: MeetingService,
        users: UserStore,
        mail: MeetingMail,
        mailer: Mailer,
        notifier: Notifier,
        clock: Clock,
        *,
        leads: Sequence[int],
        interval_s: float,
    ) -> None:
        self._meetings = meetings
        self._users = users
        self._mail = mail
        self._mailer = mailer
        self._notifier = notifier
        self._clock = clock
        self._leads = sorted(set(leads))
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None and self._leads:
            self._task = asyncio.create_task(self._run(), name="meeting-reminders")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("meeting reminders failed; trying again in %.0f s", self._interval_s)
            await asyncio.sleep(self._interval_s)

    async def run_once(self) -> int:
        """Send what is due now; how many reminders went (one person, one occurrence each)."""
        if not self._leads:
            return 0
        now = self._clock()
        horizon = now + timedelta(minutes=max(self._leads))
        store = self._meetings.store
        sent = 0
        after_id = 0
        while True:
            batch = await store.between(now, horizon, after_id=after_id)
            if not batch:
                return sent
            after_id = batch[-1].id
            for meeting in batch:
                occurrences = MeetingService.occurrences(meeting, now, horizon, limit=10)
                for due in due_reminders(occurrences, self._leads, now):
                    sent += await self._remind(meeting, due, now)

    async def _remind(self, meeting: Meeting, due: DueReminder, now: datetime) -> int:
        owner = await self._users.get(meeting.owner_id)
        people: list[Invitee] = [i for i in meeting.invitees if i.answer is not Answer.DECLINED]
        if owner is not None:
            people.insert(0, Invitee(id=0, user_id=owner.id, email=owner.email, display_name=owner.display_name))
        mails: list[OutgoingMail] = []
        notices: list[Notice] = []
        reached = 0
        for person in people:
            recipient = f"user:{person.user_id}" if person.user_id is not None else f"email:{person.email}"
            claimed = await self._meetings.store.claim_reminder(
                meeting.id, due.occurrence.recurrence_id, recipient, due.lead_minutes, now
            )
            if not claimed:
                continue
            reached += 1
            if person.user_id is not None:  # the notifier mails and pushes it as his preferences for "reminder" say
                notices.append(self._mail.reminder_notice(meeting, due.occurrence, person.user_id, due.lead_minutes))
                continue
            mail = self._mail.reminder(meeting, due.occurrence, person, due.lead_minutes)
            if mail is not None:
                mails.append(mail)
        if mails:
            await self._mailer.enqueue(mails)
        if notices:
            await self._notifier.notify(notices)
        return reached
