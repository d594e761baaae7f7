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
    version: int = Field(ge=1, le=MAX_ID, description="The version the alias points at.")


class LayerStatsRead(BaseModel):
    """One hidden layer's statistics at the end of training (models/introspect.py)."""

    rows: int = Field(description="How many rows they were measured on.")
    source: str = Field(description="validation, or training sample (no validation split).")
    mean: list[float] = Field(description="Per unit: the mean activation.")
    std: list[float] = Field(description="Per unit: the standard deviation of the activation.")
    fire_rate: list[float] | None = Field(
        description="Per unit: the share of rows with activation > 0 (relu family, gelu, silu)."
    )
    dead_units: int | None = Field(description="Units that fired on no row.")
    dead: list[int] | None = Field(description="Their indices.")
    active_per_row: float | None = Field(description="Mean number of units > 0 per row.")
    saturation: float | None = Field(
        description="Share of cells saturated: tanh |a| > 0.99, sigmoid a < 0.01 or > 0.99."
    )
    saturated_share: list[float] | None = Field(description="Per unit: its saturated share.")
    variance: list[float] | None = Field(default=None, description="Code: variance per unit.")
    variance_share: list[float] | None = Field(
        default=None, description="Code: each unit's share of the total code variance."
    )
    effective_dimension: float | None = Field(
        default=None,
        description="Code: participation ratio of the code covariance, (Σλ)² / Σλ².",
    )
    max_abs_correlation: float | None = Field(
        default=None, description="Code: the largest |correlation| between two code units."
    )
    kl_per_dimension: list[float] | None = Field(
        default=None, description="Variational code: mean KL to N(0, 1) per unit, in nats."
    )
    active_units: int | None = Field(
        default=None, description="Variational code: units whose KL exceeds 0.01 nats."
    )


class LayerRead(BaseModel):
    index: int
    name: str
    width: int
    activation: str | None
    stats: LayerStatsRead | None = Field(
        default=None,
        description="With `?stats=true`: the layer's end-of-training statistics (null for "
        "versions trained before they were recorded).",
    )


class CalibrateSource(Strict):
    """Which stored dataset holds the normal rows (when they are not sent as `instances`)."""

    dataset_id: Id | SkipJsonSchema[None] = Field(
        default=None, description="A stored dataset of normal rows."
    )


class CalibrateRequest(CalibrateSource):
    """Normal rows to recalibrate on: a stored dataset, or rows in the model's column order."""

    model_config = request_config(
        {"dataset_id": 1},
        {"instances": [[0.5, 1.2, -0.3], [0.4, 1.0, -0.1]]},
        oneOf=[{"required": ["dataset_id"]}, {"required": ["instances"]}],
    )
    instances: Rows | SkipJsonSchema[None] = Field(
        default=None, description="Normal rows in the model's column order."
    )


class CalibrationRead(BaseModel):
    model: str
    version: int = Field(description="The new version the recalibration registered.")
    from_version: int = Field(description="The version whose weights it shares.")
    alpha: float
    threshold: float | None
    n_calibration: int


class ProjectionRead(BaseModel):
    """The latent view's data: one point per sampled calibration row."""

    model: str
    version: int
    method: str = Field(description="`pca`, or `code` when the code has at most 2 units.")
    explained_variance: list[float] = Field(
        description="The share of the codes' variance on each axis (PCA; empty for `code`)."
    )
    x: list[float]
    y: list[float]
    scores: list[float] = Field(description="Each row's anomaly score.")
    is_anomaly: list[bool] = Field(description="Flagged at `alpha` (by `rule`).")
    alpha: float
    rule: str
    threshold: float | None = Field(description="Scores above it are flagged; null: none can be.")
