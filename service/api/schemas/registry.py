"""Registry schemas: models, versions, aliases, layers, calibration."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from service.api.schemas.common import MAX_ID, Id, Timestamp
from service.api.schemas.inference import Rows


class ModelSummaryRead(BaseModel):
    name: str
    latest_version: int
    aliases: dict[str, int]


class ModelPage(BaseModel):
    items: list[ModelSummaryRead]


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    version: int
    run_id: int | None
    created_at: Timestamp
    n_features: int
    columns: list[str]
    code_size: int
    metrics: dict[str, Any]


class ModelRead(BaseModel):
    name: str
    aliases: dict[str, int]
    versions: list[VersionRead]


class AliasUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, le=MAX_ID)


class LayerRead(BaseModel):
    index: int
    name: str
    width: int
    activation: str | None


class CalibrateRequest(BaseModel):
    """Normal rows to recalibrate on: a stored dataset, or rows in the model's column order."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"oneOf": [{"required": ["dataset_id"]}, {"required": ["instances"]}]},
    )
    dataset_id: Id | SkipJsonSchema[None] = None
    instances: Rows | SkipJsonSchema[None] = None


class CalibrationRead(BaseModel):
    model: str
    version: int
    alpha: float
    threshold: float | None
    n_calibration: int
