"""Tables of the usage statistics: raw samples per scope, their hourly and daily roll-ups (sums), and each
administrator's arrangement of the Statistics page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from veche.storage.tables import Base

__all__ = [
    "StatisticsLayoutRow",
    "UsageCallDailyRow",
    "UsageCallHourlyRow",
    "UsageDailyRow",
    "UsageHourlyRow",
    "UsageSampleRow",
]


class UsageSampleRow(Base):
    """One scope ("cluster", "region:NAME", "server:ID") over one sample period (a minute) starting at ``at``
    (epoch seconds, UTC). Its key makes a sample count once: a roll-up is added only when its sample is new."""

    __tablename__ = "usage_samples"
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    at: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seconds: Mapped[int] = mapped_column(Integer)
    servers: Mapped[int] = mapped_column(Integer)
    cpu_use: Mapped[float] = mapped_column(Float)
    conferences: Mapped[float] = mapped_column(Float)
    participants: Mapped[float] = mapped_column(Float)
    peak_participants: Mapped[int] = mapped_column(Integer)
    net_in_bps: Mapped[float] = mapped_column(Float)
    net_out_bps: Mapped[float] = mapped_column(Float)
    refusals: Mapped[int] = mapped_column(Integer)
    failovers: Mapped[int] = mapped_column(Integer)


class _Rollup:
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    at: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    samples: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[int] = mapped_column(BigInteger)
    cpu_seconds: Mapped[float] = mapped_column(Float)
    conference_seconds: Mapped[float] = mapped_column(Float)
    participant_seconds: Mapped[float] = mapped_column(Float)
    peak_participants: Mapped[int] = mapped_column(Integer)
    bytes_in: Mapped[float] = mapped_column(Float)
    bytes_out: Mapped[float] = mapped_column(Float)
    refusals: Mapped[int] = mapped_column(BigInteger)
    failovers: Mapped[int] = mapped_column(BigInteger)


class UsageHourlyRow(_Rollup, Base):
    __tablename__ = "usage_hourly"


class UsageDailyRow(_Rollup, Base):
    __tablename__ = "usage_daily"


class _CallRollup:
    """What the call history adds to a scope's hour or day: time in conferences of the sessions that ended (ms) and
    sessions that joined (domain/call_usage.py). Added to in the transaction that records the sessions."""

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    at: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    participant_ms: Mapped[int] = mapped_column(BigInteger)
    sessions: Mapped[int] = mapped_column(BigInteger)


class UsageCallHourlyRow(_CallRollup, Base):
    __tablename__ = "usage_call_hourly"


class UsageCallDailyRow(_CallRollup, Base):
    __tablename__ = "usage_call_daily"


class StatisticsLayoutRow(Base):
    """An administrator's arrangement of the Statistics page (which charts, in which order), as JSON text."""

    __tablename__ = "statistics_layouts"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    layout: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
