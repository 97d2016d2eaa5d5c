"""The license for administrators: what is installed, and each pool's total, leases and use (from the manager)."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query, Request

from veche.bus.base import BusError
from veche.bus.lease_messages import GetLicenseReport, InstallLicense, LicenseReport
from veche.domain.errors import InvalidInput, Unavailable
from veche.domain.model import User
from veche.web.security import require_admin

router = APIRouter(tags=["license"])

MAX_LICENSE_BYTES = 64 * 1024
MANAGER_AWAY = "The manager does not answer, so the license cannot be read or changed now. Try again in a moment."


@router.get(
    "/license",
    response_model=LicenseReport,
    summary="The license and each pool: total (null = unlimited), in use, leased per server, free (admins)",
)
async def get_license(
    request: Request,
    hours: int = Query(24, ge=0, le=48, description="Hours of use history"),
    _admin: User = Depends(require_admin),
) -> LicenseReport:
    try:
        return await request.app.state.container.get_bus().request(GetLicenseReport(usage_hours=hours), timeout_s=3.0)
    except BusError as e:
        raise Unavailable(MANAGER_AWAY) from e


@router.put(
    "/license",
    response_model=LicenseReport,
    summary="Install a license file (the previous one stays if this one is refused; admins)",
)
async def put_license(
    request: Request,
    text: str = Body(..., media_type="text/plain", max_length=MAX_LICENSE_BYTES),
    _admin: User = Depends(require_admin),
) -> LicenseReport:
    try:
        report = await request.app.state.container.get_bus().request(InstallLicense(text=text), timeout_s=5.0)
    except BusError as e:
        raise Unavailable(MANAGER_AWAY) from e
    if report.refused:
        raise InvalidInput(report.refused)
    return report
