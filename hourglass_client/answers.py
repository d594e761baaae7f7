"""What the service answers, as dataclasses (and numpy arrays for per-row values)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def from_json(cls: type[T], document: dict[str, Any]) -> T:
    """A dataclass from a JSON object, ignoring fields this client does not know."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in document.items() if k in names})


@dataclass(frozen=True)
class Dataset:
    id: int
    name: str
    n_rows: int
    n_features: int
    columns: list[str]
    sha256: str
    size_bytes: int
    created_at: str


@dataclass(frozen=True)
class Run:
    id: int
    status: str
    model_name: str
    model_version: int | None
    dataset_id: int
    config: dict[str, Any]
    progress: dict[str, int]
    metrics: dict[str, Any]
    error: str | None
    worker: str | None
    attempts: int
    created_at: str
    started_at: str | None
    finished_at: str | None

    @property
    def finished(self) -> bool:
        """Whether the run has ended (succeeded, failed or cancelled)."""
        return self.status in ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class RunPage:
    items: list[Run]
    total: int


@dataclass(frozen=True)
class Epoch:
    epoch: int
    train_loss: float
    val_loss: float | None
    seconds: float


@dataclass(frozen=True)
class ModelSummary:
    name: str
    latest_version: int | None
    aliases: dict[str, int]


@dataclass(frozen=True)
class Version:
    version: int
    run_id: int | None
    created_at: str
    n_features: int
    columns: list[str]
    code_size: int
    metrics: dict[str, Any]
    calibration_source: dict[str, Any] | None


@dataclass(frozen=True)
class ModelDetail:
    name: str
    aliases: dict[str, int]
    versions: list[Version]


@dataclass(frozen=True)
class Layer:
    index: int
    name: str
    width: int
    activation: str | None


@dataclass(frozen=True)
class Reconstruction:
    model: str
    version: int
    reconstructions: np.ndarray
    errors: np.ndarray


@dataclass(frozen=True)
class Anomalies:
    model: str
    version: int
    rule: str
    alpha: float
    threshold: float | None
    scores: np.ndarray
    p_values: np.ndarray
    is_anomaly: np.ndarray
    explanations: list[list[dict[str, Any]]] | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Projection:
    model: str
    version: int
    method: str
    explained_variance: list[float]
    x: np.ndarray
    y: np.ndarray
    scores: np.ndarray
    is_anomaly: np.ndarray
    alpha: float
    rule: str
    threshold: float | None


ARRAYS = ("reconstructions", "errors", "scores", "p_values", "is_anomaly", "x", "y")


def with_arrays(cls: type[T], document: dict[str, Any]) -> T:
    """A dataclass whose per-row fields become numpy arrays."""
    converted = {k: np.asarray(v) if k in ARRAYS else v for k, v in document.items()}
    return from_json(cls, converted)


def run_from(document: dict[str, Any]) -> Run:
    return from_json(Run, document)


def model_from(document: dict[str, Any]) -> ModelDetail:
    versions = [from_json(Version, v) for v in document["versions"]]
    return ModelDetail(document["name"], document["aliases"], versions)
