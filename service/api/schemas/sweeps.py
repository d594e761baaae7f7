"""Sweep schemas: a search space over run configs, an objective, pruning; trials are runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.api.schemas.common import Id, Strict, Timestamp
from service.api.schemas.runs import NAME_PATTERN, RunSections
from service.store.tables import RunStatus

Field_ = Annotated[
    str, Field(pattern=r"^(architecture|preprocessing|training|calibration)\.[a-z_]+$")
]


class _Dimension(BaseModel):
    """One field of the space. `log` is the only boolean: bounds and choices are never one."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("bounds", "choice", mode="before", check_fields=False)
    @classmethod
    def _no_booleans(cls, value: object) -> object:
        if isinstance(value, list) and any(isinstance(item, bool) for item in value):
            raise ValueError("a boolean is not a valid value here")
        return value


def _check_range(kind: str, bounds: Sequence[float], *, log: bool) -> None:
    if bounds[0] > bounds[1] or (log and bounds[0] <= 0):
        raise ValueError(f"{kind}: [low, high] with low <= high (and low > 0 on a log scale)")


class IntRange(_Dimension):
    bounds: list[int] = Field(
        alias="int", min_length=2, max_length=2, description="[low, high], both included."
    )
    log: bool = Field(default=False, description="Sample on a log scale.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _check_range("int", self.bounds, log=self.log)
        return self


class FloatRange(_Dimension):
    bounds: list[float] = Field(
        alias="float", min_length=2, max_length=2, description="[low, high]."
    )
    log: bool = Field(default=False, description="Sample on a log scale.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _check_range("float", self.bounds, log=self.log)
        return self


class Choice(_Dimension):
    choice: list[str | int | float] = Field(
        min_length=1, max_length=64, description="The values to choose from."
    )


class Labels(Strict):
    dataset_id: Id = Field(
        description="A labelled dataset with every training column and the label column; "
        "its rows must be disjoint from the training and calibration rows."
    )
    column: str = Field(min_length=1, max_length=200, description="Label: 0 normal, else anomaly.")


class Objective(Strict):
    metric: Literal["val_loss", "val_loss_knee", "roc_auc", "average_precision"] = Field(
        default="val_loss",
        description="val_loss: the lowest validation loss (for code size it always picks the "
        "widest code); val_loss_knee: the smallest config reaching 80 % of the loss reduction; "
        "roc_auc / average_precision: on half of the labelled rows (needs labels).",
    )
    labels: Labels | None = Field(
        default=None, description="The labelled dataset roc_auc and average_precision score on."
    )


class SweepCreate(Strict):
    """A search over run configs on one dataset; each trial is an ordinary run."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "dataset_id": 1,
                    "model_name": "sensors",
                    "base": {"training": {"epochs": 27}},
                    "space": {"architecture.code_size": {"int": [1, 32], "log": True}},
                    "trials": 20,
                    "objective": {"metric": "val_loss_knee"},
                    "pruning": "asha",
                },
                {
                    "dataset_id": 1,
                    "model_name": "sensors",
                    "space": {
                        "architecture.activation": {"choice": ["relu", "gelu", "tanh"]},
                        "training.learning_rate": {"float": [1e-4, 1e-2], "log": True},
                    },
                    "trials": 10,
                    "objective": {
                        "metric": "roc_auc",
                        "labels": {"dataset_id": 2, "column": "label"},
                    },
                    "pruning": "none",
                },
            ]
        },
    )
    dataset_id: Id = Field(description="The dataset every trial trains on.")
    model_name: str = Field(
        pattern=NAME_PATTERN, description="The best trial is registered as a version of this name."
    )
    base: RunSections = Field(
        default_factory=RunSections,
        description="The run config every trial starts from (as in POST /v1/runs); a "
        "validation split of 10 % when it sets none.",
    )
    space: dict[Field_, IntRange | FloatRange | Choice] = Field(
        min_length=1, max_length=16, description='"section.field" → its range or choices.'
    )
    trials: int = Field(default=20, ge=1, le=500, description="Trials (runs) to train in all.")
    objective: Objective = Field(default_factory=Objective)
    pruning: Literal["asha", "none"] = Field(
        default="asha",
        description="asha: at epochs 1, 3, 9, 27 … a trial outside the best third of the "
        "validation losses recorded there stops (Optuna's successive-halving rule).",
    )
    parallel: int = Field(default=2, ge=1, le=64, description="Trials in flight at once.")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Seeds the sampler (TPE).")

    def space_dict(self) -> dict[str, dict[str, Any]]:
        return {k: v.model_dump(mode="json", by_alias=True) for k, v in self.space.items()}


class TrialRead(BaseModel):
    number: int
    run_id: int
    state: str = Field(description="queued, running, complete, pruned, failed or cancelled.")
    params: dict[str, Any]
    objective: float | None
    holdout: float | None = Field(
        description="The labelled objective on the held-out half of the labelled rows."
    )
    pruned_at_epoch: int | None
    parameters: int | None = Field(description="Trainable parameters of its net, once trained.")
    epochs: int = Field(description="Epochs it trained.")


class SweepRead(BaseModel):
    id: int
    status: RunStatus
    dataset_id: int
    model_name: str
    model_version: int | None = Field(description="The version the best trial registered.")
    trials: int
    base: dict[str, Any]
    space: dict[str, Any]
    objective: dict[str, Any]
    pruning: str
    parallel: int
    seed: int
    best: dict[str, Any] | None = Field(
        description="The chosen trial: trial_number, run_id, params, objective, holdout."
    )
    epochs_trained: int = Field(description="Epochs of every trial together.")
    epochs_planned: int = Field(description="Epochs the trials would train unpruned.")
    error: str | None
    created_at: Timestamp
    finished_at: Timestamp | None
    trial_runs: list[TrialRead]


class SweepPage(BaseModel):
    items: list[SweepRead]
    total: int
