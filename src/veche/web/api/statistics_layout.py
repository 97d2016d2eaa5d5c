"""The Statistics page's arrangement, kept per administrator: which charts he shows, in which order, as lines or bars.

GET answers the saved arrangement or the default one; PUT replaces it (strict shape: known figures, each at most once,
at most :data:`MAX_CHARTS` charts). Stored by :mod:`veche.storage.statistics_layouts`.
"""

from __future__ import annotations

from typing import Literal, get_args

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from veche.domain.clock import utc_now
from veche.domain.model import User
from veche.web.security import require_admin

__all__ = ["DEFAULT_LAYOUT", "ChartLayout", "StatisticsLayout", "router"]

router = APIRouter(tags=["statistics"])

Figure = Literal[
    "conference_hours",
    "conferences_avg",
    "participants_avg",
    "participants_per_conference",
    "peak_participants",
    "cpu_percent",
    "traffic_in_bytes",
    "traffic_out_bytes",
    "refusals",
    "failovers",
    "license_online_users_peak",
    "license_video_peak",
    "license_gateway_peak",
    "license_guests_peak",
    "coverage",
]
MAX_CHARTS = len(get_args(Figure))  # one per figure


class ChartLayout(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    figure: Figure
    kind: Literal["line", "bar"] = "line"


class StatisticsLayout(BaseModel):
    """The charts of the page, top to bottom."""

    model_config = ConfigDict(extra="forbid", strict=True)
    charts: list[ChartLayout] = Field(max_length=MAX_CHARTS)

    @field_validator("charts")
    @classmethod
    def _each_figure_once(cls, charts: list[ChartLayout]) -> list[ChartLayout]:
        figures = [c.figure for c in charts]
        if len(set(figures)) != len(figures):
            raise ValueError("each figure may be shown in one chart only")
        return charts


DEFAULT_LAYOUT = StatisticsLayout(
    charts=[
        ChartLayout(figure="conference_hours", kind="bar"),
        ChartLayout(figure="participants_avg", kind="line"),
        ChartLayout(figure="conferences_avg", kind="line"),
        ChartLayout(figure="cpu_percent", kind="line"),
        ChartLayout(figure="traffic_out_bytes", kind="bar"),
    ]
)


@router.get(
    "/statistics/layout",
    response_model=StatisticsLayout,
    summary="The caller's arrangement of the Statistics page, or the default one (admins)",
)
async def get_layout(request: Request, admin: User = Depends(require_admin)) -> StatisticsLayout:
    saved = await request.app.state.container.get_statistics_layouts().get(admin.id)
    if saved is None:
        return DEFAULT_LAYOUT
    try:
        return StatisticsLayout.model_validate(saved)
    except ValidationError:  # saved by an older Veche with other figures: start again from the default
        return DEFAULT_LAYOUT


@router.put(
    "/statistics/layout",
    response_model=StatisticsLayout,
    summary="Replace the caller's arrangement of the Statistics page (admins)",
)
async def put_layout(
    request: Request, layout: StatisticsLayout, admin: User = Depends(require_admin)
) -> StatisticsLayout:
    await request.app.state.container.get_statistics_layouts().put(admin.id, layout.model_dump(), utc_now())
    return layout
