"""A real SMTP server for the tests (aiosmtpd, in its own thread): plain, STARTTLS or implicit TLS, with AUTH;
it records what it accepted and can be told to answer 4xx, refuse recipients with 5xx or hold a mail."""

from __future__ import annotations

import asyncio
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.net import free_tcp_port

__all__ = ["SinkHandler", "SmtpSink"]


@dataclass
class SinkHandler:
    accepted: list[EmailMessage] = field(default_factory=list)
    refuse_recipients: dict[str, str] = field(default_factory=dict)  # address -> "550 5.1.1 ..."
    temporary_failures: int = 0  # answer the next N mails with 451
    hold_after: int | None = None  # once this many are accepted, hold the next mail until `release` is set
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    answered_451: int = 0
    holding: int = 0  # mails held right now
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.temporary_failures > 0:
                self.temporary_failures -= 1
                self.answered_451 += 1
                return "451 4.3.0 Try again later"
            hold = self.hold_after is not None and len(self.accepted) >= self.hold_after
        if hold:
            with self.lock:
                self.holding += 1
            self.held.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
            with self.lock:
                self.holding -= 1
            return "451 4.3.0 Held, not accepted"
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.accepted.append(parsed)
        return "250 Message accepted"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.accepted]


class _Authenticator:
    def __init__(self, login: str, password: str) -> None:
        self.login, self.password = login.encode(), password.encode()
        self.attempts: list[bytes] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            self.attempts.append(auth_data.login)
            if auth_data.login == self.login and auth_data.password == self.password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


class SmtpSink:
    """``security``: "none", "starttls" (required) or "tls" (implicit). With ``login``/``password``: AUTH required."""

    def __init__(
        self,
        *,
        security: str = "none",
        cert: tuple[Path, Path] | None = None,
        login: str | None = None,
        password: str | None = None,
        port: int | None = None,
    ) -> None:
        self.handler = SinkHandler()
        self.port = port or free_tcp_port()
        self.authenticator = _Authenticator(login, password or "") if login else None
        context = None
        if cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(cert[0]), str(cert[1]))
        kwargs: dict[str, Any] = {}
        if security == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        if self.authenticator is not None:
            kwargs.update(authenticator=self.authenticator, auth_required=True, auth_require_tls=security != "none")
        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=context if security == "tls" else None,
            **kwargs,
        )

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self.handler.release.set()
        self._controller.stop()
