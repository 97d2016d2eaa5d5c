"""Scheduled meetings: scheduling, changing and cancelling them (the series or one occurrence), invitees' answers,
the calendar view and feed, and whether a meeting's conference is open for joining yet.

A meeting owns a conference (access "invited", its user invitees as members; guests by the conference's invite
link when guests are allowed). Invitations, updates and cancellations go as mails with an iCalendar part through
the :class:`~veche.domain.notifications.Mailer` (base/meeting_mail.py renders them), and as notices to invited users.
Reminders are base/meeting_reminders.py.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from veche.base.conferences import MAX_PARTICIPANTS_LIMIT, ConferenceChanges, ConferenceService, NewConference
from veche.base.meeting_mail import MeetingMail
from veche.base.shared_throttle import SharedThrottle, ThrottleCounters
from veche.domain.clock import Clock
from veche.domain.errors import Forbidden, InvalidInput, NotFound, RateLimited
from veche.domain.login_throttle import LoginThrottle, Refusal
from veche.domain.meeting_links import read_answer_token
from veche.domain.meeting_window import JoinWindow, join_window
from veche.domain.meetings import (
    MAX_DURATION_MINUTES,
    Answer,
    Invitee,
    Meeting,
    MeetingNotOpen,
    Occurrence,
    OccurrenceChange,
    PinRequired,
    check_email,
    check_moment,
    check_pin,
    check_time_zone,
)
from veche.domain.model import Conference, ConferenceAccess, ConferenceType, User
from veche.domain.names import clean_name
from veche.domain.notifications import Mailer, Notice, NoticeKind, Notifier, OutgoingMail
from veche.domain.recurrence import check_rule, expand, is_occurrence, series_end
from veche.storage.meetings import MeetingFields, MeetingPage, MeetingStore, NewInvitee
from veche.storage.users import UserStore

__all__ = ["MeetingPatch", "MeetingService", "MeetingSpec", "OccurrencePatch", "ScheduledOccurrence", "not_visible"]

logger = logging.getLogger(__name__)

CALENDAR_DAYS_MAX = 62  # one request of the calendar view: a month and a bit
JOIN_LOOKAHEAD = timedelta(days=400)


def not_visible(meeting_id: int) -> NotFound:
    """The one answer for a meeting that does not exist and for one the caller may not see."""
    return NotFound(f"Meeting {meeting_id} does not exist or you may not see it.")


PIN_MAX_FAILURES = 5  # wrong PINs a minute from one address, per meeting


@dataclass(frozen=True)
class MeetingSpec:
    title: str
    starts_at: datetime
    duration_minutes: int
    time_zone: str
    recurrence: str | None = None
    exceptions: tuple[datetime, ...] = ()  # occurrences left out from the start (EXDATE), by original start
    invite_users: tuple[int, ...] = ()
    invite_emails: tuple[str, ...] = ()
    invite_groups: tuple[int, ...] = ()
    guests_allowed: bool = False
    moderated: bool = False
    pin: str | None = None


@dataclass(frozen=True)
class MeetingPatch:
    """None: unchanged. The invite lists, when given, replace the meeting's."""

    title: str | None = None
    starts_at: datetime | None = None
    duration_minutes: int | None = None
    time_zone: str | None = None
    recurrence: str | None = None
    clear_recurrence: bool = False
    invite_users: tuple[int, ...] | None = None
    invite_emails: tuple[str, ...] | None = None
    invite_groups: tuple[int, ...] | None = None
    guests_allowed: bool | None = None
    moderated: bool | None = None
    pin: str | None = None
    clear_pin: bool = False


@dataclass(frozen=True)
class OccurrencePatch:
    starts_at: datetime | None = None
    duration_minutes: int | None = None


@dataclass(frozen=True)
class ScheduledOccurrence:
    """An occurrence in someone's calendar view."""

    meeting: Meeting
    occurrence: Occurrence


def _aware(moment: datetime, what: str) -> datetime:
    return check_moment(moment, what)


def _duration(minutes: int) -> int:
    if not 5 <= minutes <= MAX_DURATION_MINUTES:
        raise InvalidInput(f"The duration must be between 5 and {MAX_DURATION_MINUTES} minutes.")
    return minutes


def _room_for(invitees: int) -> int:
    """The participant limit of a meeting's conference: everyone invited, the organiser and a few guests more."""
    return max(2, min(MAX_PARTICIPANTS_LIMIT, invitees + 10))


class MeetingService:
    def __init__(
        self,
        meetings: MeetingStore,
        conferences: ConferenceService,
        users: UserStore,
        mail: MeetingMail,
        mailer: Mailer,
        notifier: Notifier,
        clock: Clock,
        *,
        key: bytes,
        open_before: timedelta,
        max_invitees: int,
        uid_domain: str,
        pin_counters: ThrottleCounters | None = None,  # several web servers: count wrong PINs together
    ) -> None:
        self._meetings = meetings
        self._conferences = conferences
        self._users = users
        self._mail = mail
        self._mailer = mailer
        self._notifier = notifier
        self._clock = clock
        self._key = key
        self.open_before = open_before
        self._max_invitees = max_invitees
        self._uid_domain = uid_domain
        # Guests' PIN guesses, per meeting and address (counted by every web server): 5 wrong a minute, then back-off.
        self._pin_throttle = SharedThrottle(
            LoginThrottle(max_failures=PIN_MAX_FAILURES, window_s=60.0, name="meeting_pin"), pin_counters, clock
        )

    @property
    def store(self) -> MeetingStore:
        return self._meetings

    # -- scheduling -------------------------------------------------------------------------------------------

    async def create(self, owner: User, spec: MeetingSpec) -> Meeting:
        fields, changes = self._fields(spec)
        invitees = await self._invitees(owner, spec.invite_users, spec.invite_emails, spec.invite_groups)
        if any(i.user_id is None for i in invitees) and not spec.guests_allowed:
            raise InvalidInput("People invited by e-mail join as guests: allow guests, or invite them as users.")
        conference = await self._conferences.create(
            owner,
            NewConference(
                name=fields.title,
                type=ConferenceType.MODERATED if spec.moderated else ConferenceType.ALL_SEE_ALL,
                max_participants=_room_for(len(invitees)),
                guests_allowed=spec.guests_allowed,
                access=ConferenceAccess.INVITED,
                invited=frozenset(i.user_id for i in invitees if i.user_id is not None),
            ),
        )
        meeting = await self._meetings.create(
            uid_for=f"{secrets.token_hex(8)}-{{id}}@{self._uid_domain}",
            owner_id=owner.id,
            conference_id=conference.id,
            fields=fields,
            invitees=invitees,
            changes=changes,
            now=self._clock(),
        )
        await self._deliver(
            meeting,
            self._mail.invitations(meeting, owner, meeting.invitees, self._clock()),
            [(meeting.invitees, "invitation", f"{owner.display_name} invites you")],
        )
        logger.info("meeting %d scheduled by user %d (%d invitees)", meeting.id, owner.id, len(invitees))
        return meeting

    def _fields(self, spec: MeetingSpec) -> tuple[MeetingFields, list[OccurrenceChange]]:
        title = clean_name(spec.title, what="The title", max_length=256)
        zone = check_time_zone(spec.time_zone)
        starts_at = _aware(spec.starts_at, "starts_at")
        minutes = _duration(spec.duration_minutes)
        rule = check_rule(spec.recurrence, starts_at, zone)
        changes = []
        for moment in spec.exceptions:
            moment = _aware(moment, "An exception")
            if not is_occurrence(starts_at=starts_at, time_zone=zone, rule=rule, recurrence_id=moment):
                raise InvalidInput(f"The exception {moment.isoformat()} is not an occurrence of the meeting.")
            changes.append(OccurrenceChange(recurrence_id=moment, cancelled=True))
        end = series_end(starts_at=starts_at, duration_minutes=minutes, time_zone=zone, rule=rule, changes=changes)
        fields = MeetingFields(
            title=title,
            starts_at=starts_at,
            duration_minutes=minutes,
            time_zone=zone,
            recurrence=rule,
            series_end=end,
            guests_allowed=spec.guests_allowed,
            moderated=spec.moderated,
            pin=check_pin(spec.pin),
        )
        return fields, changes

    async def _invitees(
        self, owner: User, user_ids: Sequence[int], emails: Sequence[str], group_ids: Sequence[int]
    ) -> list[NewInvitee]:
        found: dict[str, NewInvitee] = {}
        users = {u.id: u for u in await self._users.get_many(set(user_ids))}
        missing = sorted(set(user_ids) - {i for i, u in users.items() if not u.disabled})
        if missing:
            raise InvalidInput(f"Unknown user id(s): {', '.join(map(str, missing))}.")
        for user in users.values():
            if user.id != owner.id:
                found[f"user:{user.id}"] = NewInvitee(user.id, user.email, user.display_name)
        for group_id in dict.fromkeys(group_ids):
            group = await self._meetings.group_members(group_id, limit=self._max_invitees)
            if group is None:
                raise InvalidInput(f"Unknown directory group {group_id}.")
            if group.more:
                raise InvalidInput(f"The group “{group.name}” has more than {self._max_invitees} members.")
            for user_id, name, email in group.members:
                if user_id != owner.id:
                    found.setdefault(f"user:{user_id}", NewInvitee(user_id, email, name, group=group.name))
        for address in dict.fromkeys(check_email(e) for e in emails):
            found.setdefault(f"email:{address}", NewInvitee(None, address, address))
        if len(found) > self._max_invitees:
            raise InvalidInput(f"A meeting has at most {self._max_invitees} invitees.")
        return list(found.values())

    async def update(self, user: User, meeting_id: int, patch: MeetingPatch) -> Meeting:
        before = await self._owned(meeting_id, user)
        owner = await self._owner(before)
        spec = MeetingSpec(
            title=patch.title if patch.title is not None else before.title,
            starts_at=patch.starts_at if patch.starts_at is not None else before.starts_at,
            duration_minutes=patch.duration_minutes if patch.duration_minutes is not None else before.duration_minutes,
            time_zone=patch.time_zone if patch.time_zone is not None else before.time_zone,
            recurrence=None if patch.clear_recurrence else (patch.recurrence or before.recurrence),
            guests_allowed=patch.guests_allowed if patch.guests_allowed is not None else before.guests_allowed,
            moderated=patch.moderated if patch.moderated is not None else before.moderated,
            pin=None if patch.clear_pin else (patch.pin if patch.pin is not None else before.pin),
        )
        fields, _ = self._fields(spec)
        timing_changed = (fields.starts_at, fields.duration_minutes, fields.time_zone, fields.recurrence) != (
            before.starts_at,
            before.duration_minutes,
            before.time_zone,
            before.recurrence,
        )
        rule_changed = (fields.starts_at, fields.time_zone, fields.recurrence) != (
            before.starts_at,
            before.time_zone,
            before.recurrence,
        )
        kept = [c for c in before.changes if not rule_changed]
        fields = replace(
            fields,
            series_end=series_end(
                starts_at=fields.starts_at,
                duration_minutes=fields.duration_minutes,
                time_zone=fields.time_zone,
                rule=fields.recurrence,
                changes=kept,
            ),
        )
        invitees: list[NewInvitee] | None = None
        if patch.invite_users is not None or patch.invite_emails is not None or patch.invite_groups is not None:
            invitees = await self._invitees(
                owner,
                patch.invite_users
                if patch.invite_users is not None
                else [i.user_id for i in before.invitees if i.user_id is not None and not i.group],
                patch.invite_emails
                if patch.invite_emails is not None
                else [i.email for i in before.invitees if i.user_id is None],
                patch.invite_groups or (),
            )
            if patch.invite_groups is None:  # keep those who came with a group
                keys = {i.key for i in invitees}
                invitees += [
                    NewInvitee(i.user_id, i.email, i.display_name, group=i.group)
                    for i in before.invitees
                    if i.group and f"user:{i.user_id}" not in keys
                ]
        externals = invitees is not None and any(i.user_id is None for i in invitees)
        if not fields.guests_allowed and (
            externals or (invitees is None and any(i.user_id is None for i in before.invitees))
        ):
            raise InvalidInput("People invited by e-mail join as guests: allow guests, or invite them as users.")
        after = await self._meetings.update(
            meeting_id, fields, invitees=invitees, clear_changes=rule_changed, reset_answers=timing_changed
        )
        if after is None:
            raise not_visible(meeting_id)
        await self._conferences.update(
            after.conference_id,
            ConferenceChanges(
                name=after.title,
                type=ConferenceType.MODERATED if after.moderated else ConferenceType.ALL_SEE_ALL,
                max_participants=_room_for(len(after.invitees)),
                guests_allowed=after.guests_allowed,
                invited=after.member_ids(),
            ),
        )
        now = self._clock()
        old_keys = {self._key_of(i.user_id, i.email) for i in before.invitees}
        new_keys = {self._key_of(i.user_id, i.email) for i in after.invitees}
        removed = [i for i in before.invitees if self._key_of(i.user_id, i.email) not in new_keys]
        added = [i for i in after.invitees if self._key_of(i.user_id, i.email) not in old_keys]
        staying = [i for i in after.invitees if self._key_of(i.user_id, i.email) in old_keys]
        mails = self._mail.invitations(after, owner, added, now)
        mails += self._mail.updates(after, owner, staying, now)
        mails += self._mail.cancellations(replace(before, sequence=after.sequence), owner, removed, now)
        await self._deliver(
            after,
            mails,
            [
                (added, "invitation", f"{owner.display_name} invites you"),
                (staying, "meeting_changed", "The meeting was changed"),
                (removed, "meeting_cancelled", "You are no longer invited"),
            ],
        )
        return after

    @staticmethod
    def _key_of(user_id: int | None, email: str) -> str:
        return f"user:{user_id}" if user_id is not None else f"email:{email}"

    async def delete(self, user: User, meeting_id: int) -> None:
        """Cancel the whole meeting: everyone invited gets METHOD:CANCEL; the conference goes with it."""
        meeting = await self._owned(meeting_id, user)
        owner = await self._owner(meeting)
        cancelled = replace(meeting, sequence=meeting.sequence + 1)
        await self._deliver(
            meeting,
            self._mail.cancellations(cancelled, owner, meeting.invitees, self._clock()),
            [(meeting.invitees, "meeting_cancelled", "The meeting was cancelled")],
        )
        await self._meetings.delete(meeting_id)
        try:
            await self._conferences.delete(meeting.conference_id)
        except NotFound:
            pass

    async def change_occurrence(
        self, user: User, meeting_id: int, recurrence_id: datetime, patch: OccurrencePatch
    ) -> Meeting:
        """Move or lengthen one occurrence alone: invitees get a REQUEST naming it by RECURRENCE-ID."""
        meeting, recurrence_id = await self._occurrence_of(user, meeting_id, recurrence_id)
        previous = meeting.change_of(recurrence_id)
        if previous is not None and previous.cancelled:
            raise InvalidInput("That occurrence is cancelled.")
        change = OccurrenceChange(
            recurrence_id=recurrence_id,
            starts_at=_aware(patch.starts_at, "starts_at") if patch.starts_at is not None else None,
            duration_minutes=_duration(patch.duration_minutes) if patch.duration_minutes is not None else None,
        )
        if change.starts_at == recurrence_id:
            change = replace(change, starts_at=None)
        after = await self._store_change(meeting, change)
        owner = await self._owner(after)
        await self._deliver(
            after,
            self._mail.occurrence_changed(after, recurrence_id, owner, after.invitees, self._clock()),
            [(after.invitees, "meeting_changed", "One occurrence was moved")],
        )
        return after

    async def cancel_occurrence(self, user: User, meeting_id: int, recurrence_id: datetime) -> Meeting:
        """Cancel one occurrence alone: invitees get METHOD:CANCEL with its RECURRENCE-ID; the series stays."""
        meeting, recurrence_id = await self._occurrence_of(user, meeting_id, recurrence_id)
        previous = meeting.change_of(recurrence_id)
        if previous is not None and previous.cancelled:
            return meeting
        after = await self._store_change(meeting, OccurrenceChange(recurrence_id=recurrence_id, cancelled=True))
        owner = await self._owner(after)
        mails = self._mail.occurrence_cancelled(after, recurrence_id, owner, after.invitees, self._clock())
        await self._deliver(after, mails, [(after.invitees, "meeting_cancelled", "One occurrence was cancelled")])
        return after

    async def _occurrence_of(self, user: User, meeting_id: int, recurrence_id: datetime) -> tuple[Meeting, datetime]:
        meeting = await self._owned(meeting_id, user)
        moment = _aware(recurrence_id, "The occurrence")
        if meeting.recurrence is None:
            raise InvalidInput("This meeting happens once: change the meeting itself.")
        if not is_occurrence(
            starts_at=meeting.starts_at, time_zone=meeting.time_zone, rule=meeting.recurrence, recurrence_id=moment
        ):
            raise NotFound(f"Meeting {meeting_id} has no occurrence at {moment.isoformat()}.")
        return meeting, moment

    async def _store_change(self, meeting: Meeting, change: OccurrenceChange) -> Meeting:
        changes = [c for c in meeting.changes if c.recurrence_id != change.recurrence_id] + [change]
        end = series_end(
            starts_at=meeting.starts_at,
            duration_minutes=meeting.duration_minutes,
            time_zone=meeting.time_zone,
            rule=meeting.recurrence,
            changes=changes,
        )
        after = await self._meetings.set_change(meeting.id, change, series_end=end)
        if after is None:
            raise not_visible(meeting.id)
        return after

    # -- answers ----------------------------------------------------------------------------------------------

    async def answer(self, user: User, meeting_id: int, answer: Answer) -> Meeting:
        meeting = await self.get_visible(meeting_id, user)
        invitee = meeting.invitee_of(user.id)
        if invitee is None:
            raise InvalidInput("You organise this meeting: only invitees answer.")
        await self._meetings.set_answer(meeting_id, invitee.id, answer)
        return await self.get_visible(meeting_id, user)

    async def answer_by_token(self, token: str, answer: Answer | None) -> tuple[Meeting, Invitee]:
        """The meeting and the invitee a mail's signed link names; with ``answer``, records it."""
        link = read_answer_token(self._key, token)
        meeting = await self._meetings.get(link.meeting_id)
        invitee = next((i for i in meeting.invitees if i.id == link.invitee_id), None) if meeting else None
        if meeting is None or invitee is None:
            raise NotFound("This answer link is not valid (the meeting may have been cancelled).")
        if answer is not None and answer is not Answer.NEEDS_ACTION:
            await self._meetings.set_answer(meeting.id, invitee.id, answer)
            invitee = replace(invitee, answer=answer)
        return meeting, invitee

    # -- reading ----------------------------------------------------------------------------------------------

    async def get_visible(self, meeting_id: int, user: User) -> Meeting:
        meeting = await self._meetings.get(meeting_id)
        if meeting is None or not (user.is_admin or meeting.owner_id == user.id or meeting.invitee_of(user.id)):
            raise not_visible(meeting_id)
        return meeting

    async def _owned(self, meeting_id: int, user: User) -> Meeting:
        meeting = await self.get_visible(meeting_id, user)
        if meeting.owner_id != user.id and not user.is_admin:
            raise Forbidden("Only the meeting's organiser may change or cancel it.")
        return meeting

    async def _owner(self, meeting: Meeting) -> User:
        owner = await self._users.get(meeting.owner_id)
        if owner is None:
            raise not_visible(meeting.id)
        return owner

    async def mine(self, user: User, *, limit: int = 50, offset: int = 0) -> MeetingPage:
        return await self._meetings.mine(user.id, limit=limit, offset=offset)

    async def calendar(self, user: User, window_from: datetime, window_to: datetime) -> list[ScheduledOccurrence]:
        """The occurrences of ``user``'s meetings in the window (at most :data:`CALENDAR_DAYS_MAX` days), by start."""
        window_from, window_to = _aware(window_from, "from"), _aware(window_to, "to")
        if not window_from < window_to <= window_from + timedelta(days=CALENDAR_DAYS_MAX):
            raise InvalidInput(f"`to` must be after `from`, at most {CALENDAR_DAYS_MAX} days later.")
        found: list[ScheduledOccurrence] = []
        for meeting in await self._meetings.mine_between(user.id, window_from, window_to):
            for occurrence in self.occurrences(meeting, window_from, window_to):
                found.append(ScheduledOccurrence(meeting, occurrence))
        found.sort(key=lambda s: (s.occurrence.starts_at, s.meeting.id))
        return found

    @staticmethod
    def occurrences(meeting: Meeting, window_from: datetime, window_to: datetime, limit: int = 500) -> list[Occurrence]:
        return expand(
            starts_at=meeting.starts_at,
            duration_minutes=meeting.duration_minutes,
            time_zone=meeting.time_zone,
            rule=meeting.recurrence,
            changes=meeting.changes,
            window_from=window_from,
            window_to=window_to,
            limit=limit,
        )

    def next_occurrence(self, meeting: Meeting) -> Occurrence | None:
        now = self._clock()
        found = self.occurrences(meeting, now, now + JOIN_LOOKAHEAD, limit=1)
        return found[0] if found else None

    # -- joining ----------------------------------------------------------------------------------------------

    async def window_of(self, meeting: Meeting) -> JoinWindow:
        now = self._clock()
        upcoming = self.occurrences(meeting, now, now + JOIN_LOOKAHEAD, limit=3)
        return join_window(upcoming, now=now, open_before=self.open_before, opened_until=meeting.opened_until)

    async def check_join(
        self, conference: Conference, user: User | None, *, pin: str | None = None, address: str = ""
    ) -> None:
        """Refuses a join of a meeting's conference before it opens, naming when it does. The organiser may always
        join: his joining early opens it for everyone (until the end of that occurrence). A guest (``user`` None)
        of a meeting with a PIN must give it; wrong guesses are throttled per meeting and address."""
        meeting = await self._meetings.by_conference(conference.id)
        if meeting is None:
            return
        if user is None and meeting.pin is not None:
            await self._check_pin(meeting.id, meeting.pin, pin, address)
        window = await self.window_of(meeting)
        if window.open:
            return
        if user is not None and (user.id == meeting.owner_id):
            await self.start_early(user, meeting.id)
            return
        if window.opens_at is None:
            raise MeetingNotOpen(f"“{meeting.title}” is over: it has no occurrence left.")
        local = window.opens_at.astimezone(meeting.zone)
        minutes = int(self.open_before.total_seconds() // 60)
        raise MeetingNotOpen(
            f"“{meeting.title}” opens for joining at {local:%Y-%m-%d %H:%M} ({meeting.time_zone}), "
            f"{minutes} minutes before it starts."
        )

    async def asks_pin(self, conference: Conference) -> bool:
        """Whether guests of this conference must give a PIN (it is a scheduled meeting with one)."""
        meeting = await self._meetings.by_conference(conference.id)
        return meeting is not None and meeting.pin is not None

    async def _check_pin(self, meeting_id: int, expected: str, given: str | None, address: str) -> None:
        if not given:
            raise PinRequired("This meeting asks for its PIN: enter the PIN from the invitation.")
        attempt = await self._pin_throttle.begin(f"meeting:{meeting_id}", address)
        if isinstance(attempt, Refusal):
            wait = attempt.retry_after_whole_s
            raise RateLimited(f"Too many wrong PINs. Try again in {wait} seconds.", wait)
        if hmac.compare_digest(given.encode(), expected.encode()):
            await self._pin_throttle.settle(attempt, "succeeded")
            return
        await self._pin_throttle.settle(attempt, "failed")
        raise PinRequired("That is not this meeting's PIN. Check the invitation and try again.")

    async def start_early(self, user: User, meeting_id: int) -> Meeting:
        """The organiser opens the meeting now, until the end of its next occurrence."""
        meeting = await self._owned(meeting_id, user)
        now = self._clock()
        upcoming = self.occurrences(meeting, now, now + JOIN_LOOKAHEAD, limit=1)
        until = upcoming[0].ends_at if upcoming else now + meeting.duration
        await self._meetings.set_opened_until(meeting_id, until)
        return await self.get_visible(meeting_id, user)

    async def search_groups(self, query: str, *, limit: int = 20) -> list[tuple[int, str]]:
        """Directory groups to invite, by name."""
        return await self._meetings.search_groups(query[:128], limit=limit)

    # -- feed -------------------------------------------------------------------------------------------------

    async def reset_feed_token(self, user: User) -> str:
        """A new private feed token (the old feed URL stops working)."""
        token = secrets.token_urlsafe(24)
        await self._meetings.set_feed_token(user.id, hashlib.sha256(token.encode()).hexdigest(), self._clock())
        return token

    async def has_feed(self, user: User) -> bool:
        return await self._meetings.has_feed_token(user.id)

    async def feed(self, token: str) -> bytes:
        user_id = await self._meetings.feed_user(hashlib.sha256(token.encode()).hexdigest())
        user = await self._users.get(user_id) if user_id is not None else None
        if user is None:
            raise NotFound("This calendar feed does not exist (its address may have been reset).")
        meetings: list[Meeting] = []
        offset = 0
        while len(meetings) < 2000:
            page = await self._meetings.mine(user.id, limit=200, offset=offset)
            meetings += page.meetings
            offset += len(page.meetings)
            if not page.meetings or offset >= page.total:
                break
        owners = {u.id: u for u in await self._users.get_many({m.owner_id for m in meetings})}
        return self._mail.feed(user, meetings, owners, self._clock())

    # -- delivery ---------------------------------------------------------------------------------------------

    async def _deliver(
        self,
        meeting: Meeting,
        mails: Sequence[OutgoingMail],
        notify: Sequence[tuple[Sequence[Invitee], NoticeKind, str]],
    ) -> None:
        """Users get a notice carrying their mail (the notifier sends it if their preferences want e-mail, and
        pushes as they want: one mail, never the iCalendar one and a plain one); e-mail invitees get the mail."""
        by_address = {mail.to.lower(): mail for mail in mails}
        notices: list[Notice] = []
        for invitees, kind, title in notify:
            for invitee in invitees:
                for notice in self._mail.notices(meeting, [invitee], kind, title):
                    mail = by_address.pop(invitee.email.lower(), None) if invitee.email else None
                    notices.append(replace(notice, mail=mail))
        if by_address:
            await self._mailer.enqueue(list(by_address.values()))
        if notices:
            await self._notifier.notify(notices)
