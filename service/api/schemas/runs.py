"""Run schemas. Every config field is optional: defaults come from `models.DetectorConfig`.

The config sections name the engine's fields; their choices, bounds and descriptions are the
engine's own (`models.knobs`), so no limit is written twice.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from models import (
    ArchitectureConfig,
    CalibrationConfig,
    PreprocessingConfig,
    TrainingConfig,
    choices,
)
from models.config import MAX_DEPTH
from models.knobs import Knob
from service.api.schemas.common import Id, Strict, Timestamp, request_config
from service.store.tables import RunStatus

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


def engine_field(section: type[Any], name: str) -> Any:
    """An optional schema field with the engine field's description (default: the engine's)."""
    return Field(default=None, description=Knob.of(section, name).doc)


def bounds(section: type[Any], name: str) -> Any:
    """The engine field's bounds, for the number type they constrain (`Annotated[int, …]`)."""
    knob = Knob.of(section, name)
    return Field(ge=knob.low, le=knob.high)


class _Section(Strict):
    """Omitted fields take the engine's defaults. Only fields whose engine value may be None
    (derived sizes and epochs, no clipping, no contamination, no fence) are documented as
    nullable."""


A, P, T, C = ArchitectureConfig, PreprocessingConfig, TrainingConfig, CalibrationConfig
Unset = SkipJsonSchema[None]  # may be omitted, but not null (the engine has no None for it)
Widths = Annotated[list[Annotated[int, bounds(A, "hidden_layers")]], Field(max_length=MAX_DEPTH)]


class ArchitectureIn(_Section):
    kind: choices.Kind | Unset = engine_field(A, "kind")
    hidden_layers: Widths | Literal["auto"] | None = engine_field(A, "hidden_layers")
    code_size: Annotated[int, bounds(A, "code_size")] | Literal["auto"] | None = engine_field(
        A, "code_size"
    )
    activation: choices.Activation | Unset = engine_field(A, "activation")
    dropout: Annotated[float, bounds(A, "dropout")] | Unset = engine_field(A, "dropout")
    normalization: choices.Normalization | Unset = engine_field(A, "normalization")
    variant: choices.Variant | Unset = engine_field(A, "variant")
    noise_std: Annotated[float, bounds(A, "noise_std")] | Unset = engine_field(A, "noise_std")
    sparsity_weight: Annotated[float, bounds(A, "sparsity_weight")] | Unset = engine_field(
        A, "sparsity_weight"
    )
    beta: Annotated[float, bounds(A, "beta")] | Unset = engine_field(A, "beta")
    ensemble_size: Annotated[int, bounds(A, "ensemble_size")] | Unset = engine_field(
        A, "ensemble_size"
    )
    mask_ratio: Annotated[float, bounds(A, "mask_ratio")] | Unset = engine_field(A, "mask_ratio")


class PreprocessingIn(_Section):
    scaling: choices.Scaling | Unset = engine_field(P, "scaling")


class TrainingIn(_Section):
    epochs: Annotated[int, bounds(T, "epochs")] | None = engine_field(T, "epochs")
    batch_size: Annotated[int, bounds(T, "batch_size")] | Unset = engine_field(T, "batch_size")
    learning_rate: Annotated[float, bounds(T, "learning_rate")] | Unset = engine_field(
        T, "learning_rate"
    )
    weight_decay: Annotated[float, bounds(T, "weight_decay")] | Unset = engine_field(
        T, "weight_decay"
    )
    optimizer: choices.Optimizer | Unset = engine_field(T, "optimizer")
    validation_fraction: Annotated[float, bounds(T, "validation_fraction")] | Unset = engine_field(
        T, "validation_fraction"
    )
    early_stopping_patience: Annotated[int, bounds(T, "early_stopping_patience")] | Unset = (
        engine_field(T, "early_stopping_patience")
    )
    gradient_clip: Annotated[float, bounds(T, "gradient_clip")] | None = engine_field(
        T, "gradient_clip"
    )
    seed: Annotated[int, bounds(T, "seed")] | Unset = engine_field(T, "seed")
    device: choices.Device | Unset = engine_field(T, "device")
    devices: Annotated[int, bounds(T, "devices")] | Unset = engine_field(T, "devices")


class CalibrationIn(_Section):
    fraction: Annotated[float, bounds(C, "fraction")] | Unset = engine_field(C, "fraction")
    alpha: Annotated[float, bounds(C, "alpha")] | Unset = engine_field(C, "alpha")
    contamination: Annotated[float, bounds(C, "contamination")] | None = engine_field(
        C, "contamination"
    )
    fence: Annotated[float, bounds(C, "fence")] | None = engine_field(C, "fence")
    scoring: choices.Scoring | Unset = engine_field(C, "scoring")


class RunSections(_Section):
    """The config sections of a run; omitted fields take the engine's defaults."""

    architecture: ArchitectureIn | None = Field(
        default=None, description="The autoencoder's shape and variant."
    )
    preprocessing: PreprocessingIn | None = Field(
        default=None, description="How columns are scaled before training."
    )
    training: TrainingIn | None = Field(
        default=None, description="Optimiser, batches, epochs, early stopping, seed and device."
    )
    calibration: CalibrationIn | None = Field(
        default=None,
        description="How rows are scored and flagged: the held-out rows of the p-values, alpha, "
        "contamination and the fence.",
    )

    def partial_config(self) -> dict[str, Any]:
        """The config sections as given; omitted fields (not explicit nulls) are left out."""
        sections = self.model_dump(
            mode="json", exclude_unset=True, exclude={"dataset_id", "model_name"}
        )
        return {name: value for name, value in sections.items() if value is not None}


class RunCreate(RunSections):
    """A training request. Omitted fields take the engine's defaults (echoed in `config`)."""

    model_config = request_config(
        {"dataset_id": 1, "model_name": "sensors"},
        {
            "dataset_id": 1,
            "model_name": "sensors",
            "architecture": {"hidden_layers": [64, 32], "code_size": 8},
            "training": {"epochs": 30, "seed": 1},
            "calibration": {"alpha": 0.01},
        },
    )

    dataset_id: Id = Field(description="The dataset to train on.")
    model_name: str = Field(
        pattern=NAME_PATTERN, description="Register the trained model as a version of this name."
    )


class Progress(BaseModel):
    epoch: int
    epochs: int


class RunMetrics(BaseModel):
    train_loss: float | None = None
    val_loss: float | None = None
    best_epoch: int | None = None
    threshold: float | None = Field(
        default=None,
        description="The score above which a row is flagged at the run's alpha; null when the "
        "calibration rows cannot reach it.",
    )
    seconds: float | None = None
    n_calibration: int | None = Field(
        default=None, description="Held-out rows whose scores make the p-values."
    )
    calibration_excluded: int | None = Field(
        default=None,
        description="Held-out rows left out beyond `calibration.fence` (anomalies among the "
        "training rows).",
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="What the model's answers cannot promise, e.g. an alpha its calibration "
        "rows cannot reach, with the smallest one they can.",
    )


class RunRead(BaseModel):
    id: int
    sweep_id: int | None = Field(default=None, description="The sweep this run is a trial of.")
    trial_number: int | None = Field(default=None, description="Its trial number (from 0).")
    status: RunStatus
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


class EpochLayerRead(BaseModel):
    index: int = Field(description="The hidden layer (as in GET /v1/models/{ref}/layers).")
    variance: float = Field(description="Mean variance of the layer's units.")
    dead_share: float | None = Field(
        default=None, description="Share of units that fired on no sample row (relu family)."
    )
    saturation: float | None = Field(
        default=None, description="Share of saturated cells (tanh, sigmoid)."
    )


class EpochLayersRead(BaseModel):
    layers: list[EpochLayerRead]
    code_variance: list[float] = Field(description="Variance of every code unit.")


class EpochRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    epoch: int
    train_loss: float
    val_loss: float | None
    seconds: float
    layers: EpochLayersRead | None = Field(
        default=None,
        description="The cheap layer statistics of the epoch, measured on a fixed sample of at "
        "most 1,024 rows (validation, else training); null when not measured (DDP training).",
    )


class EpochPage(BaseModel):
    items: list[EpochRead]
