"""Bus messages about participants' sessions: ending them when their account signs out or is disabled."""

from __future__ import annotations

from typing import ClassVar

from veche.bus.messages import BusMessage, BusRequest

__all__ = ["DisabledAccounts", "EndSessions", "FindDisabledAccounts"]


class EndSessions(BusMessage):
    """To every app server: end the live connections of ``identity`` ("user:<id>") in every conference."""

    subject: ClassVar[str] = "veche.session.end"
    identity: str
    code: str  # "signed_out" | "account_disabled"
    message: str
    sign_in: str = ""  # only the connections opened under this sign-in ("": all of them)


class DisabledAccounts(BusMessage):
    subject: ClassVar[str] = "veche.session.disabled.reply"
    user_ids: list[int]


class FindDisabledAccounts(BusRequest[DisabledAccounts]):
    """App server to the base role, every few seconds: which of the users in my conferences are disabled (or gone)?

    However an account is disabled (the console, a directory sync, a deleted user), its calls end within seconds.
    """

    subject: ClassVar[str] = "veche.session.disabled"
    user_ids: list[int]
