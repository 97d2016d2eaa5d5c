"""Tables of the cluster: the manager's server catalog, shared settings, and where conferences run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from veche.storage.tables import Base

__all__ = [
    "ConferenceLegRow",
    "LicenseLeaseRow",
    "LicenseStateRow",
    "LicenseUsageRow",
    "ServerRow",
    "SharedSettingsRow",
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
