"""Tables of the cluster: the manager's server catalog, shared settings, where conferences run, the leader locks
of roles with one active server (and their take-overs), claims of work every base server hears of (done by one),
and the login throttle's counters every web server shares."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from veche.storage.tables import Base

__all__ = [
    "ConferenceLegRow",
    "LeaderLockRow",
    "LeaderTakeoverRow",
    "LicenseLeaseRow",
    "LicenseStateRow",
    "LicenseUsageRow",
    "LoginThrottleRow",
    "ServerRow",
    "SharedSettingsRow",
    "WorkClaimRow",
]


class ServerRow(Base):
    """A server the manager knows: approved or pending, with what the admin set."""

    __tablename__ = "servers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    roles: Mapped[str] = mapped_column(String(64))  # comma separated
    host: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(128))
    region: Mapped[str] = mapped_column(String(64))
    approved: Mapped[bool] = mapped_column(Boolean)
    draining: Mapped[bool] = mapped_column(Boolean)
    max_participants: Mapped[int] = mapped_column(Integer)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SharedSettingsRow(Base):
    __tablename__ = "shared_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    revision: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, object]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConferenceLegRow(Base):
    """Where a running conference runs: one leg per region (one leg, region "", until cascading), with the epoch
    of its placement, which grows each time the leg moves to another server (tickets name it)."""

    __tablename__ = "conference_legs"
    conference_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    leg: Mapped[str] = mapped_column(String(64), primary_key=True)
    server_id: Mapped[str] = mapped_column(String(64))
    signaling_url: Mapped[str] = mapped_column(String(512))
    epoch: Mapped[int] = mapped_column(BigInteger)
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LicenseLeaseRow(Base):
    """A server's lease of one license pool, written before a grant that grows it is sent (the manager restarts
    from these, counting each as just renewed)."""

    __tablename__ = "license_leases"
    server_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    pool: Mapped[str] = mapped_column(String(32), primary_key=True)
    region: Mapped[str] = mapped_column(String(64))
    slots: Mapped[int] = mapped_column(Integer)
    floor: Mapped[int] = mapped_column(Integer)


class LicenseStateRow(Base):
    """The manager's fencing epoch: one more at every start of a manager."""

    __tablename__ = "license_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger)


class LicenseUsageRow(Base):
    """Use of each pool, sampled every minute, for the License page's chart of the last day."""

    __tablename__ = "license_usage"
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    pool: Mapped[str] = mapped_column(String(32), primary_key=True)
    in_use: Mapped[int] = mapped_column(Integer)
    leased: Mapped[int] = mapped_column(Integer)
    refusals: Mapped[int] = mapped_column(Integer)


class LeaderLockRow(Base):
    """Who is the active server of a role with one active server ("manager"), until when (it renews every second
    or so; once ``expires_at`` passes, a standby takes it)."""

    __tablename__ = "leader_locks"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LeaderTakeoverRow(Base):
    """A server that became the active one of a role, from whom, with the license epoch it started (the console)."""

    __tablename__ = "leader_takeovers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    name: Mapped[str] = mapped_column(String(64))
    holder: Mapped[str] = mapped_column(String(128))
    previous: Mapped[str] = mapped_column(String(128))  # "" when nobody held it
    epoch: Mapped[int] = mapped_column(BigInteger)


class LoginThrottleRow(Base):
    """One counter of the login throttle (domain/login_throttle.py), shared by every web server: a (login,
    address) pair, an address or a login, with its recent failures and its lock."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(700), primary_key=True)
    failures: Mapped[list[float]] = mapped_column(JSON)
    strikes: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[float] = mapped_column(Float)
    last_failure: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class WorkClaimRow(Base):
    """A piece of work every base server hears of (a chat message to store, a batch of call history), claimed by
    the one that does it: the others see the claim and leave it (base/work_once.py)."""

    __tablename__ = "work_claims"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    claimed_until: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
