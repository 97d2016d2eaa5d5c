"""The mails and notices of scheduled meetings: invitation, update and cancellation mails with their iCalendar part
(one per recipient: his own join link and answer links), reminders, and the user's calendar feed.

Pure apart from the clock passed in: base/meetings.py and base/meeting_reminders.py hand the results to the
Mailer and the Notifier. Every mail has a key unique to (meeting, SEQUENCE, method, occurrence, recipient), so a
retried request does not send it twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal

from veche.domain.meeting_calendar import CalendarPerson, FeedEntry, render_feed, render_meeting, render_occurrence
from veche.domain.meeting_links import answer_token
from veche.domain.meetings import Answer, Invitee, Meeting, Occurrence
from veche.domain.model import User
from veche.domain.notifications import MailAttachment, Notice, NoticeKind, OutgoingMail

__all__ = ["MeetingMail"]

Kind = Literal["invitation", "update", "cancel", "occurrence_changed", "occurrence_cancelled"]
SUBJECTS: dict[Kind, str] = {
    "invitation": "Invitation: {title}",
    "update": "Updated invitation: {title}",
    "cancel": "Cancelled: {title}",
    "occurrence_changed": "Changed: {title} on {day}",
    "occurrence_cancelled": "Cancelled: {title} on {day}",
}
INTRO: dict[Kind, str] = {
    "invitation": "{owner} invites you to a meeting.",
    "update": "{owner} changed the meeting.",
    "cancel": "{owner} cancelled the meeting.",
    "occurrence_changed": "{owner} moved the meeting of {day}.",
    "occurrence_cancelled": "{owner} cancelled the meeting of {day} (the others stay as they are).",
}


class MeetingMail:
    def __init__(self, *, base_url: str, key: bytes) -> None:
        self._base = base_url.rstrip("/")
        self._key = key

    # -- links ------------------------------------------------------------------------------------------------

    def meeting_path(self, meeting: Meeting) -> str:
        return f"/meetings/{meeting.id}"

    def join_url(self, meeting: Meeting, invitee: Invitee | None) -> str:
        """Users join the conference page; people invited by e-mail the guest link."""
        if invitee is not None and invitee.user_id is None:
            return f"{self._base}/join/{meeting.invite_code}"
        return f"{self._base}/c/{meeting.conference_slug}"

    def answer_url(self, meeting: Meeting, invitee: Invitee, answer: Answer) -> str:
        return f"{self._base}/meetings/answer/{answer_token(self._key, meeting.id, invitee.id)}?answer={answer.value}"

    # -- mails ------------------------------------------------------------------------------------------------

    def invitations(self, meeting: Meeting, owner: User, to: Sequence[Invitee], now: datetime) -> list[OutgoingMail]:
        return self._mails("invitation", meeting, None, owner, to, now)

    def updates(self, meeting: Meeting, owner: User, to: Sequence[Invitee], now: datetime) -> list[OutgoingMail]:
        return self._mails("update", meeting, None, owner, to, now)

    def cancellations(self, meeting: Meeting, owner: User, to: Sequence[Invitee], now: datetime) -> list[OutgoingMail]:
        return self._mails("cancel", meeting, None, owner, to, now)

    def occurrence_changed(
        self, meeting: Meeting, recurrence_id: datetime, owner: User, to: Sequence[Invitee], now: datetime
    ) -> list[OutgoingMail]:
        return self._mails("occurrence_changed", meeting, recurrence_id, owner, to, now)

    def occurrence_cancelled(
        self, meeting: Meeting, recurrence_id: datetime, owner: User, to: Sequence[Invitee], now: datetime
    ) -> list[OutgoingMail]:
        return self._mails("occurrence_cancelled", meeting, recurrence_id, owner, to, now)

    def _mails(
        self,
        kind: Kind,
        meeting: Meeting,
        recurrence_id: datetime | None,
        owner: User,
        to: Sequence[Invitee],
        now: datetime,
    ) -> list[OutgoingMail]:
        method: Literal["REQUEST", "CANCEL"] = "CANCEL" if kind in ("cancel", "occurrence_cancelled") else "REQUEST"
        organizer = CalendarPerson(owner.email or f"{owner.login}@invalid", owner.display_name)
        attendees = [CalendarPerson(i.email, i.display_name, i.answer) for i in meeting.invitees if i.email]
        day = f"{recurrence_id.astimezone(meeting.zone):%Y-%m-%d}" if recurrence_id else ""
        mails = []
        for invitee in to:
            if not invitee.email:
                continue
            url = self.join_url(meeting, invitee)
            if recurrence_id is None:
                data = render_meeting(meeting, method, organizer=organizer, attendees=attendees, url=url, stamp=now)
            else:
                data = render_occurrence(
                    meeting, recurrence_id, method, organizer=organizer, attendees=attendees, url=url, stamp=now
                )
            which = f":{recurrence_id.isoformat()}" if recurrence_id else ""
            mails.append(
                OutgoingMail(
                    key=f"meeting:{meeting.id}:seq:{meeting.sequence}:{method}{which}:{invitee.email}",
                    to=invitee.email,
                    subject=SUBJECTS[kind].format(title=meeting.title, day=day),
                    text=self._text(kind, meeting, recurrence_id, owner, invitee, url, day),
                    calendar=MailAttachment(
                        filename="invite.ics",
                        content_type=f'text/calendar; method={method}; charset="utf-8"',
                        data=data,
                    ),
                    attachments=(
                        MailAttachment(
                            filename="invite.ics", content_type=f"application/ics; method={method}", data=data
                        ),
                    ),
                )
            )
        return mails

    def _text(
        self,
        kind: Kind,
        meeting: Meeting,
        recurrence_id: datetime | None,
        owner: User,
        invitee: Invitee,
        url: str,
        day: str,
    ) -> str:
        lines = [INTRO[kind].format(owner=owner.display_name, day=day), "", meeting.title]
        if kind in ("cancel", "occurrence_cancelled"):
            return "\n".join(lines) + "\n"
        start = meeting.starts_at
        minutes = meeting.duration_minutes
        if recurrence_id is not None:
            change = meeting.change_of(recurrence_id)
            start = change.starts_at if change and change.starts_at else recurrence_id
            minutes = change.duration_minutes if change and change.duration_minutes else minutes
        local = start.astimezone(meeting.zone)
        lines.append(f"{local:%A %Y-%m-%d %H:%M} ({meeting.time_zone}), {minutes} minutes")
        if meeting.recurrence and recurrence_id is None:
            lines.append(f"Repeats: {meeting.recurrence}")
        if meeting.pin:
            lines.append(f"PIN: {meeting.pin}")
        lines += ["", f"Join: {url}", ""]
        lines.append("Answer:")
        for answer, label in ((Answer.ACCEPTED, "Accept"), (Answer.TENTATIVE, "Maybe"), (Answer.DECLINED, "Decline")):
            lines.append(f"  {label}: {self.answer_url(meeting, invitee, answer)}")
        return "\n".join(lines) + "\n"

    def reminder(self, meeting: Meeting, occurrence: Occurrence, to: Invitee, lead_minutes: int) -> OutgoingMail | None:
        if not to.email:
            return None
        local = occurrence.starts_at.astimezone(meeting.zone)
        url = self.join_url(meeting, to)
        return OutgoingMail(
            key=f"meeting:{meeting.id}:reminder:{occurrence.recurrence_id.isoformat()}:{lead_minutes}:{to.email}",
            to=to.email,
            subject=f"Reminder: {meeting.title} at {local:%H:%M}",
            text=(
                f"“{meeting.title}” starts in {lead_minutes} minutes: {local:%A %Y-%m-%d %H:%M} "
                f"({meeting.time_zone}).\n\nJoin: {url}\n"
            ),
        )

    # -- notices ----------------------------------------------------------------------------------------------

    def notices(self, meeting: Meeting, to: Sequence[Invitee], kind: NoticeKind, title: str) -> list[Notice]:
        return [
            Notice(
                key=f"meeting:{meeting.id}:{kind}:seq:{meeting.sequence}:user:{i.user_id}",
                user_id=i.user_id,
                kind=kind,
                title=f"{title}: {meeting.title}",
                body=self._when(meeting),
                url=self.meeting_path(meeting),
            )
            for i in to
            if i.user_id is not None
        ]

    def reminder_notice(self, meeting: Meeting, occurrence: Occurrence, user_id: int, lead_minutes: int) -> Notice:
        local = occurrence.starts_at.astimezone(meeting.zone)
        return Notice(
            key=f"meeting:{meeting.id}:reminder:{occurrence.recurrence_id.isoformat()}:{lead_minutes}:user:{user_id}",
            user_id=user_id,
            kind="reminder",
            title=f"{meeting.title} starts in {lead_minutes} minutes",
            body=f"{local:%A %H:%M} ({meeting.time_zone})",
            url=self.meeting_path(meeting),
        )

    @staticmethod
    def _when(meeting: Meeting) -> str:
        local = meeting.starts_at.astimezone(meeting.zone)
        repeats = " (repeats)" if meeting.recurrence else ""
        return f"{local:%A %Y-%m-%d %H:%M} ({meeting.time_zone}){repeats}"

    # -- feed -------------------------------------------------------------------------------------------------

    def feed(self, user: User, meetings: Sequence[Meeting], owners: Mapping[int, User], now: datetime) -> bytes:
        entries = []
        for meeting in meetings:
            owner = owners.get(meeting.owner_id)
            if owner is None:
                continue
            entries.append(
                FeedEntry(
                    meeting=meeting,
                    organizer=CalendarPerson(owner.email or f"{owner.login}@invalid", owner.display_name),
                    attendees=[CalendarPerson(i.email, i.display_name, i.answer) for i in meeting.invitees if i.email],
                    url=self.join_url(meeting, None),
                )
            )
        return render_feed(entries, stamp=now, name=f"Veche: {user.display_name}")
