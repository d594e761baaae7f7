"""Registry schemas: models, versions, aliases, layers, calibration."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from service.api.schemas.common import MAX_ID, Id, Strict, Timestamp, request_config
from service.api.schemas.inference import Rows


class ModelSummaryRead(BaseModel):
    name: str
    latest_version: int | None = Field(description="The newest version (null: all deleted).")
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
    calibration_source: dict[str, Any] | None = Field(
        description="What the version's calibration was made from: the training split, or for "
        "a recalibrated version the dataset or rows and the version it came from."
    )


class ModelRead(BaseModel):
    name: str
    aliases: dict[str, int]
    versions: list[VersionRead]


class AliasUpdate(Strict):
    model_config = request_config({"version": 3})
    version: int = Field(ge=1, le=MAX_ID)


class LayerRead(BaseModel):
    index: int
    name: str
    width: int
    activation: str | None


class CalibrateSource(Strict):
    """Which stored dataset holds the normal rows (when they are not sent as `instances`)."""

    dataset_id: Id | SkipJsonSchema[None] = None


class CalibrateRequest(CalibrateSource):
    """Normal rows to recalibrate on: a stored dataset, or rows in the model's column order."""

    model_config = request_config(
        {"dataset_id": 2},
        {"instances": [[0.5, 1.2, -0.3], [0.4, 1.0, -0.1]]},
        oneOf=[{"required": ["dataset_id"]}, {"required": ["instances"]}],
    )
    instances: Rows | SkipJsonSchema[None] = None


class CalibrationRead(BaseModel):
    model: str
    version: int = Field(description="The new version the recalibration registered.")
    from_version: int = Field(description="The version whose weights it shares.")
    alpha: float
    threshold: float | None
    n_calibration: int
