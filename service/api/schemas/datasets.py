"""Dataset schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from service.api.schemas.common import Strict, Timestamp, request_config
from service.domain.csvfiles import Delimiter, HeaderMode


class DatasetMeta(Strict):
    """Everything of a JSON dataset but its rows (which numpy reads, for speed)."""

    name: str | None = Field(
        default=None, min_length=1, max_length=200, description="A label of your choice."
    )
    columns: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, description="One unique name per column. Default: f0…fn."
    )


class DatasetCreate(DatasetMeta):
    """A dataset sent as JSON rows."""

    model_config = request_config(
        {"name": "sensors", "columns": ["a", "b"], "rows": [[1.0, 2.0], [3.0, 4.5]]}
    )
    rows: list[Annotated[list[float], Field(min_length=1)]] = Field(
        min_length=2, description="At least 2 equally long rows of finite numbers."
    )


class UploadQuery(Strict):
    """How to read an uploaded file: query parameters, or form fields beside `file`."""

    name: str | None = Field(
        default=None, min_length=1, max_length=200, description="A label of your choice."
    )
    header: HeaderMode = Field(
        default="auto",
        description="CSV: does the first row name the columns? auto: yes unless every cell of "
        "it is a number (then the columns are f0…fn).",
    )
    delimiter: Delimiter | None = Field(
        default=None, description="CSV: the separator. Default: sniffed among , ; and tab."
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
