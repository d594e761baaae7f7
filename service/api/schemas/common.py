"""Schemas shared by every resource: pages, problems, timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, Field, PlainSerializer


def _utc(value: datetime) -> str:
    """SQLite hands back naive datetimes; every timestamp is UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


MAX_ID = 2**31 - 1  # INTEGER columns on both databases
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=500)]

Timestamp = Annotated[datetime, PlainSerializer(_utc, return_type=str)]


class ProblemItem(BaseModel):
    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemItem] | None = None


def page_params(limit: int, offset: int) -> dict[str, Any]:
    """Keyword arguments for a paged query."""
    return {"limit": limit, "offset": offset}
