"""Bus messages of the license pool: app servers lease slots from the manager (docs/licenses.md, "Leases")."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from veche.bus.messages import BusMessage, BusRequest

__all__ = [
    "GetLicenseReport",
    "InstallLicense",
    "LeaseGrants",
    "LeaseRequest",
    "LeaseReturn",
    "LicenseReport",
    "ManagerTakeover",
    "PoolAsk",
    "PoolFigures",
    "PoolGrant",
    "UsagePoint",
]


class PoolAsk(BaseModel):
    pool: str  # a veche.domain.license_pools.Pool value
    wanted: int  # the whole lease asked for, not an increment
    in_use: int
    refusals: int = 0  # connections refused for want of slots since the server started


class PoolGrant(BaseModel):
    pool: str
    slots: int
    floor: int
    ttl_s: float
    total: int | None
    scarce: bool = False


class LeaseGrants(BusMessage):
    subject: ClassVar[str] = "veche.license.grants"
    epoch: int
    grants: list[PoolGrant]
    organisation: str = ""
    expired_on: str = ""  # ISO date when the installed license has expired: nothing more is admitted


class LeaseRequest(BusRequest[LeaseGrants]):
    """App server to the manager, with every heartbeat and whenever a lease runs low."""

    subject: ClassVar[str] = "veche.license.lease"
    server_id: str
    region: str
    seq: int  # grows with each request of this server process: a delayed older one changes nothing
    asks: list[PoolAsk]


class LeaseReturn(BusMessage):
    """An app server stopping cleanly: its connections are gone, its leases go back to the pool at once."""

    subject: ClassVar[str] = "veche.license.return"
    server_id: str


class PoolFigures(BaseModel):
    total: int | None
    in_use: int
    leased: dict[str, int]
    in_use_by_server: dict[str, int]
    by_region: dict[str, int]
    free: int | None
    refusals: int
    silent: list[str]


class UsagePoint(BaseModel):
    at: str  # ISO-8601 UTC
    pool: str
    in_use: int
    leased: int
    refusals: int


class ManagerTakeover(BaseModel):
    """A manager that became the active one (its leader lock: manager/leadership.py), from whom, at which epoch."""

    at: str  # ISO-8601 UTC
    manager: str
    previous: str  # "" when no manager was active
    epoch: int


class LicenseReport(BusMessage):
    subject: ClassVar[str] = "veche.license.report.reply"
    organisation: str | None
    expires: str | None
    license_id: str | None
    expired: bool
    problem: str  # why the installed file is not in force ("" when it is)
    epoch: int
    pools: dict[str, PoolFigures]
    usage: list[UsagePoint] = []
    refused: str = ""  # InstallLicense: why the file was refused (the previous license stays)
    manager: str = ""  # the active manager, which answers
    takeovers: list[ManagerTakeover] = []  # the latest first


class GetLicenseReport(BusRequest[LicenseReport]):
    """Web to the manager: the License page's figures (``usage_hours`` of the use chart)."""

    subject: ClassVar[str] = "veche.license.report"
    usage_hours: int = 24


class InstallLicense(BusRequest[LicenseReport]):
    """Web to the manager: install this license file (the console's upload); refused as a failed CommandResult."""

    subject: ClassVar[str] = "veche.license.install"
    text: str
