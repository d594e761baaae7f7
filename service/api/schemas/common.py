"""Schemas shared by every resource: pages, problems, timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, ValidationInfo, field_validator
from pydantic.config import JsonDict


def _utc(value: datetime) -> str:
    """SQLite hands back naive datetimes; every timestamp is UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


MAX_ID = 2**31 - 1  # INTEGER columns on both databases
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
RunId = Annotated[int, Path(ge=1, le=MAX_ID, description="The run's id.")]
SweepId = Annotated[int, Path(ge=1, le=MAX_ID, description="The sweep's id.")]
DatasetId = Annotated[int, Path(ge=1, le=MAX_ID, description="The dataset's id.")]
VersionNumber = Annotated[int, Path(ge=1, le=MAX_ID, description="A version number of the model.")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip (newest first).")]
Limit = Annotated[int, Query(ge=1, le=500, description="Items per page.")]
REF_SYNTAX = (
    "Which version answers: `name` (the model's `production` alias if it has one, else its "
    "newest version), `name@3` (version 3) or `name@staging` (the version alias `staging` "
    "points at)."
)
ModelRef = Annotated[str, Path(description=REF_SYNTAX)]
VersionRef = Annotated[str, Path(description="A version number (`3`) or an alias (`staging`).")]
ModelName = Annotated[str, Path(description="The model's name (a run's `model_name`).")]

Timestamp = Annotated[datetime, PlainSerializer(_utc, return_type=str)]


class Strict(BaseModel):
    """A request schema: unknown fields are errors, and JSON's true is never the number 1."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans(cls, value: object, _info: ValidationInfo) -> object:
        items = value if isinstance(value, list) else [value]
        if any(isinstance(item, bool) for item in items):
            raise ValueError("a boolean is not a valid value here")
        return value


def request_config(*examples: JsonDict, **schema: Any) -> ConfigDict:
    """A request schema's config: unknown fields are errors; `examples` (each valid) and any
    other `schema` keywords go into its JSON schema."""
    return ConfigDict(extra="forbid", json_schema_extra={**schema, "examples": list(examples)})


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
