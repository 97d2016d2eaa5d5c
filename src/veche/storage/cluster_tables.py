"""Tables of the cluster: the manager's server catalog, shared settings, and where conferences run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from veche.storage.tables import Base

__all__ = ["ConferencePlacementRow", "ServerRow", "SharedSettingsRow"]


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


class ConferencePlacementRow(Base):
    """The app server a running conference was placed on (read when the manager or the bus is away)."""

    __tablename__ = "conference_placements"
    conference_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server_id: Mapped[str] = mapped_column(String(64))
    signaling_url: Mapped[str] = mapped_column(String(512))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
