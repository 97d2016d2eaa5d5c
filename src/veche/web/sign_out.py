"""Signing out ends the calls opened under that sign-in, on every app server."""

from __future__ import annotations

from typing import Any

from veche.base.conferences import sign_in_digest
from veche.bus.session_messages import EndSessions
from veche.domain.model import User

__all__ = ["sign_out"]

SIGNED_OUT = "You signed out: the call ended."


async def sign_out(container: Any, user: User, token: str) -> None:
    await container.get_auth().logout(token)
    await container.get_bus().publish(
        EndSessions(identity=f"user:{user.id}", code="signed_out", message=SIGNED_OUT, sign_in=sign_in_digest(token))
    )
