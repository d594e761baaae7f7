"""Dataset schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from service.api.schemas.common import Timestamp


class DatasetCreate(BaseModel):
    """A dataset sent as JSON rows."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    columns: list[str] | None = Field(default=None, description="Default: f0…fn.")
    rows: list[Annotated[list[float], Field(min_length=1)]] = Field(
        min_length=2, description="At least 2 equally long rows of finite numbers."
    )


class DatasetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    n_rows: int
    n_features: int
    columns: list[str]
    sha256: str
    size_bytes: int
    created_at: Timestamp


class DatasetPage(BaseModel):
    items: list[DatasetRead]
    total: int
