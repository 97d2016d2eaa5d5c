"""Path and query parameters shared by the API routers, bounded to what the database can hold (signed 64 bit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import Field

__all__ = ["MAX_ID", "ConferenceId", "Id", "UserId"]

MAX_ID = 2**63 - 1

# An id in a list (query parameters such as `known=`).
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
ConferenceId = Annotated[int, Path(ge=1, le=MAX_ID, description="A conference's id")]
UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="A user's id")]
