"""The ``smtp`` and ``push`` config sections: how mails leave the cluster and how notices reach browsers and
devices (docs/notifications.md).

No ``smtp.host``: mails are still queued (nothing is lost), but nothing is sent until a host is configured; the
base role says so at start and in its health details. The SMTP password is read from ``smtp.password_file``.
"""

from __future__ import annotations

import ssl
from email.utils import parseaddr
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["PushConfig", "RetryPolicy", "SmtpConfig"]

SmtpSecurity = Literal["none", "starttls", "tls"]
DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "tls": 465}


class RetryPolicy(BaseModel):
    """Exponential back-off: ``initial_s`` after the first failure, doubled each time up to ``max_s``; after
    ``give_up_after_s`` since the first attempt the item is failed (its last error kept)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    initial_s: float = Field(default=30.0, gt=0, description="Wait after the first transient failure.")
    max_s: float = Field(default=3600.0, gt=0, description="The longest wait between two attempts.")
    give_up_after_s: float = Field(default=2 * 86400.0, gt=0, description="Stop retrying this long after queueing.")

    def delay_s(self, attempts: int) -> float:
        """The wait after ``attempts`` failed attempts (1 = the first failure)."""
        return min(self.max_s, self.initial_s * 2 ** max(0, min(attempts - 1, 60)))


class SmtpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    host: str = Field(default="", description="The SMTP relay. Empty: mails are queued but not sent.")
    port: int | None = Field(default=None, ge=1, le=65535, description="Default: 25 (none), 587 (starttls), 465 (tls).")
    security: SmtpSecurity = Field(
        default="starttls",
        description='"starttls": STARTTLS required; "tls": TLS from the first byte; "none": plain SMTP.',
    )
    username: str = Field(default="", description="AUTH user name; empty: no authentication.")
    password_file: Path | None = Field(default=None, description="The AUTH password, in a file of its own.")
    from_: str = Field(default="Veche <veche@localhost>", alias="from", description="The From address.")
    ca_file: Path | None = Field(default=None, description="PEM certificates trusted for the relay's TLS.")
    tls_verify: bool = Field(default=True, description="false: accept any certificate (testing only).")
    timeout_s: float = Field(default=30.0, gt=0, description="Connect and command timeout.")
    poll_s: float = Field(default=5.0, gt=0, description="How often the queue is looked at for due mails.")
    lease_s: float = Field(default=300.0, gt=0, description="How long a base server holds mails it is sending.")
    batch: int = Field(default=20, ge=1, le=1000, description="Mails claimed (and sent on one connection) at a time.")
    retry: RetryPolicy = Field(default_factory=RetryPolicy)

    @model_validator(mode="after")
    def _checked(self) -> SmtpConfig:
        if "@" not in parseaddr(self.from_)[1]:
            raise ValueError(f"smtp.from is not a mail address: {self.from_!r}")
        if self.password_file is not None and not self.username:
            raise ValueError("smtp.password_file needs smtp.username")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    @property
    def sender_domain(self) -> str:
        """The domain of the From address (the right side of Message-IDs)."""
        return parseaddr(self.from_)[1].rpartition("@")[2] or "localhost"

    def password(self) -> str | None:
        if self.password_file is None:
            return None
        return self.password_file.read_text().strip()

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if not self.tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


class PushConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vapid_private_key_file: Path | None = Field(
        default=None, description="The VAPID key (PEM). Default: generated into <data_dir>/vapid_private.pem."
    )
    vapid_subject: str = Field(
        default="", description='The VAPID "sub" (mailto: or https:). Default: mailto: the smtp.from address.'
    )
    ttl_s: int = Field(default=86400, ge=0, description="How long a push service keeps an undelivered message.")
    workers: int = Field(default=4, ge=1, le=64, description="Web Push requests sent at once (threads).")
    timeout_s: float = Field(default=10.0, gt=0, description="Timeout of one Web Push request.")
    poll_s: float = Field(default=5.0, gt=0, description="How often the push queue is looked at for due items.")
    lease_s: float = Field(default=120.0, gt=0, description="How long a base server holds pushes it is sending.")
    allow_http_endpoints: bool = Field(
        default=False, description="Accept subscriptions to plain-HTTP push endpoints (testing only; default https)."
    )
    mobile_provider: Literal["none", "record"] = Field(
        default="none", description='"record": keep pushes in memory (tests); real providers are external.'
    )
    retry: RetryPolicy = Field(default_factory=lambda: RetryPolicy(initial_s=10.0, max_s=900.0, give_up_after_s=86400))
