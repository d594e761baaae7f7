"""Schemas shared by every resource: pages, problems, timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, PlainSerializer


def _utc(value: datetime) -> str:
    """SQLite hands back naive datetimes; every timestamp is UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


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
