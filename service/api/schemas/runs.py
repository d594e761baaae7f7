"""Run schemas. Every config field is optional: defaults come from `models.DetectorConfig`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from service.api.schemas.common import Id, Timestamp

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


class _Section(BaseModel):
    """Omitted fields take the engine's defaults. Only fields whose engine value may be None
    (derived sizes and epochs, no clipping, no contamination) are documented as nullable."""

    model_config = ConfigDict(extra="forbid")


class ArchitectureIn(_Section):
    kind: Literal["dense"] | SkipJsonSchema[None] = None
    hidden_layers: list[int] | None = Field(default=None, description="Default: from the width.")
    code_size: int | None = Field(default=None, description="Default: from the width.")
    activation: (
        Literal["relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid"]
        | SkipJsonSchema[None]
    ) = None
    dropout: float | SkipJsonSchema[None] = None
    normalization: Literal["none", "batch", "layer"] | SkipJsonSchema[None] = None
    variant: Literal["plain", "denoising", "sparse", "variational"] | SkipJsonSchema[None] = None
    noise_std: float | SkipJsonSchema[None] = None
    sparsity_weight: float | SkipJsonSchema[None] = None
    beta: float | SkipJsonSchema[None] = None
    ensemble_size: int | SkipJsonSchema[None] = None


class PreprocessingIn(_Section):
    scaling: (
        Literal["standard", "robust", "robust_bounded", "minmax", "none"] | SkipJsonSchema[None]
    ) = None


class TrainingIn(_Section):
    epochs: int | None = Field(default=None, description="Default: from the number of rows.")
    batch_size: int | SkipJsonSchema[None] = None
    learning_rate: float | SkipJsonSchema[None] = None
    weight_decay: float | SkipJsonSchema[None] = None
    optimizer: Literal["adam", "adamw", "sgd"] | SkipJsonSchema[None] = None
    validation_fraction: float | SkipJsonSchema[None] = None
    early_stopping_patience: int | SkipJsonSchema[None] = None
    gradient_clip: float | None = Field(default=None, description="null: no clipping.")
    seed: int | SkipJsonSchema[None] = None
    device: Literal["auto", "cpu", "cuda"] | SkipJsonSchema[None] = None
    devices: int | SkipJsonSchema[None] = Field(
        default=None, description="Processes (GPUs) under torchrun DDP."
    )


class CalibrationIn(_Section):
    fraction: float | SkipJsonSchema[None] = None
    alpha: float | SkipJsonSchema[None] = None
    contamination: float | None = None
    scoring: Literal["feature_normalized", "mse"] | SkipJsonSchema[None] = None


class RunCreate(_Section):
    """A training request. Omitted fields take the engine's defaults (echoed in `config`)."""

    dataset_id: Id
    model_name: str = Field(pattern=NAME_PATTERN)
    architecture: ArchitectureIn | None = None
    preprocessing: PreprocessingIn | None = None
    training: TrainingIn | None = None
    calibration: CalibrationIn | None = None

    def partial_config(self) -> dict[str, Any]:
        """The config sections as given; omitted fields (not explicit nulls) are left out."""
        sections = self.model_dump(exclude_unset=True, exclude={"dataset_id", "model_name"})
        return {name: value for name, value in sections.items() if value is not None}


class Progress(BaseModel):
    epoch: int
    epochs: int


class RunMetrics(BaseModel):
    train_loss: float | None = None
    val_loss: float | None = None
    best_epoch: int | None = None
    threshold: float | None = None
    seconds: float | None = None


class RunRead(BaseModel):
    id: int
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    model_name: str
    model_version: int | None
    dataset_id: int
    config: dict[str, Any]
    progress: Progress
    metrics: RunMetrics
    error: str | None
    worker: str | None
    attempts: int
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None


class RunPage(BaseModel):
    items: list[RunRead]
    total: int


class EpochRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    epoch: int
    train_loss: float
    val_loss: float | None
    seconds: float


class EpochPage(BaseModel):
    items: list[EpochRead]
