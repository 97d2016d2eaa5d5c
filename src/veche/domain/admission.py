"""Who may join a conference, and with which role. Pure rules, no I/O."""

from __future__ import annotations

import enum

from veche.domain.errors import Forbidden, NotFound
from veche.domain.model import Conference, ConferenceAccess, ConferenceType, User

__all__ = ["ParticipantRole", "admit_guest", "admit_user", "may_manage", "may_see", "not_visible"]


class ParticipantRole(enum.StrEnum):
    MODERATOR = "moderator"  # publishes, mutes and removes others
    SPEAKER = "speaker"  # publishes
    LISTENER = "listener"  # only receives (moderated conferences)


def not_visible(conference_id: int) -> NotFound:
    """The one answer for a conference that does not exist and for one the caller may not see."""
    return NotFound(f"Conference {conference_id} does not exist or you may not see it.")


def may_see(conference: Conference, user: User) -> bool:
    """Whether ``user`` may see the conference in lists and join it."""
    if user.is_admin or conference.owner_id == user.id or user.id in conference.moderators:
        return True
    if conference.access is ConferenceAccess.OPEN:
        return True
    return user.id in conference.invited


def may_manage(conference: Conference, user: User) -> bool:
    """Owner, moderators and admins manage a conference (moderation, editing)."""
    return user.is_admin or conference.owner_id == user.id or user.id in conference.moderators


def admit_user(conference: Conference, user: User) -> ParticipantRole:
    """The role ``user`` joins with, or :class:`Forbidden` with the reason."""
    if user.disabled:
        raise Forbidden("Your account is disabled.")
    if not may_see(conference, user):
        # Exactly as for a conference that does not exist: an invite-only conference's name and existence stay
        # private to those invited.
        raise not_visible(conference.id)
    if may_manage(conference, user):
        return ParticipantRole.MODERATOR
    if conference.type is ConferenceType.MODERATED:
        return ParticipantRole.LISTENER
    return ParticipantRole.SPEAKER


def admit_guest(conference: Conference) -> ParticipantRole:
    """The role a guest joins with, or :class:`Forbidden` when guests are not allowed."""
    if not conference.guests_allowed:
        raise Forbidden(f"The conference “{conference.name}” does not allow guests. Ask its owner for an account.")
    if conference.type is ConferenceType.MODERATED:
        return ParticipantRole.LISTENER
    return ParticipantRole.SPEAKER
