"""Frozen configuration of a Detector: architecture, preprocessing, training, calibration.

Field names are the RunCreate field names of the HTTP API. `DetectorConfig.from_dict` validates a
nested dict and names the bad field (`"architecture.activation: must be one of …"`).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, Self

ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid")
NORMALIZATIONS = ("none", "batch", "layer")
VARIANTS = ("plain", "denoising", "sparse", "variational")
SCALINGS = ("standard", "robust", "robust_bounded", "minmax", "none")
OPTIMIZERS = ("adam", "adamw", "sgd")
DEVICES = ("auto", "cpu", "cuda")
SCORINGS = ("feature_normalized", "mse")


def _choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name}: must be one of {', '.join(choices)}; got {value!r}")


def _number(name: str, value: object, low: float, high: float, *, integer: bool = False) -> None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"{name}: must be {'an integer' if integer else 'a number'}")
    if not (low <= value <= high):
        raise ValueError(f"{name}: must lie in [{low}, {high}]; got {value}")


@dataclass(frozen=True)
class ArchitectureConfig:
    """The autoencoder's shape. `None` sizes are derived from the number of features.

    Defaults (issue 5, bench/anomaly.py): dropout 0.2 and batch norm regularise the short training
    so the net learns the bulk of the data rather than every row; one member, because ensembles of
    3 did not detect better once training was long enough (0.859 vs 0.859 mean ROC-AUC).
    """

    kind: str = "dense"
    hidden_layers: tuple[int, ...] | None = None
    code_size: int | None = None
    activation: str = "relu"
    dropout: float = 0.2
    normalization: str = "batch"
    variant: str = "plain"
    noise_std: float = 0.1
    sparsity_weight: float = 0.001
    beta: float = 1.0
    ensemble_size: int = 1

    def __post_init__(self) -> None:
        _choice("kind", self.kind, ("dense",))
        if self.hidden_layers is not None:
            if isinstance(self.hidden_layers, str | bytes) or not hasattr(
                self.hidden_layers, "__iter__"
            ):
                raise ValueError("hidden_layers: must be a list of integers")
            object.__setattr__(self, "hidden_layers", tuple(self.hidden_layers))
            for i, width in enumerate(self.hidden_layers):
                _number(f"hidden_layers.{i}", width, 1, 65536, integer=True)
        if self.code_size is not None:
            _number("code_size", self.code_size, 1, 65536, integer=True)
        _choice("activation", self.activation, ACTIVATIONS)
        _number("dropout", self.dropout, 0.0, 0.9)
        _choice("normalization", self.normalization, NORMALIZATIONS)
        _choice("variant", self.variant, VARIANTS)
        _number("noise_std", self.noise_std, 0.0, 10.0)
        _number("sparsity_weight", self.sparsity_weight, 0.0, 100.0)
        _number("beta", self.beta, 0.0, 100.0)
        _number("ensemble_size", self.ensemble_size, 1, 16, integer=True)

    def resolved(self, n_features: int) -> ArchitectureConfig:
        """Fill `hidden_layers` and `code_size` by the default rule for `n_features` columns."""
        code = self.code_size if self.code_size is not None else default_code_size(n_features)
        hidden = self.hidden_layers
        if hidden is None:
            hidden = default_hidden_layers(n_features, code)
        return replace(self, hidden_layers=hidden, code_size=code)

    def parameter_count(self, n_features: int) -> int:
        """Trainable parameters of all members for `n_features` columns, without building them."""
        arch = self.resolved(n_features)
        assert arch.hidden_layers is not None and arch.code_size is not None
        code = arch.code_size
        code_out = 2 * code if arch.variant == "variational" else code
        norm = 0 if arch.normalization == "none" else 2  # scale and shift per unit
        encoder = list(itertools.pairwise((n_features, *arch.hidden_layers)))
        decoder = list(itertools.pairwise((code, *reversed(arch.hidden_layers))))
        blocks = sum(a * b + (1 + norm) * b for a, b in encoder + decoder)
        to_code = ((encoder[-1][1] if encoder else n_features) + 1) * code_out
        to_output = ((decoder[-1][1] if decoder else code) + 1) * n_features
        return arch.ensemble_size * (blocks + to_code + to_output)


def default_code_size(n_features: int) -> int:
    """Code width: about a third of the features, at least 2 and at most 32."""
    return max(1, min(n_features, max(2, min(32, math.ceil(n_features / 3)))))


def default_hidden_layers(n_features: int, code_size: int) -> tuple[int, ...]:
    """Two encoder layers: the power of two at or above 2·features (16–256), then half of it."""
    first = min(256, max(16, 1 << math.ceil(math.log2(max(2, 2 * n_features)))))
    return (first, max(code_size, first // 2))


@dataclass(frozen=True)
class PreprocessingConfig:
    """How columns are scaled before training; fitted on the training rows only.

    Default `robust_bounded` (median, IQR/1.349, but at least std/3): outliers in the data do not
    compress the scale of the normal rows, and a spiky column cannot dominate the loss.
    """

    scaling: str = "robust_bounded"

    def __post_init__(self) -> None:
        _choice("scaling", self.scaling, SCALINGS)


STEP_BUDGET = 10_000  # default training length of a large set, in optimiser steps
MIN_STEPS = 2_000  # … and of a tiny one
MAX_DEFAULT_EPOCHS = 80
MIN_DEFAULT_EPOCHS = 5


def default_epochs(n_train: int, batch_size: int) -> int:
    """80 epochs, but about STEP_BUDGET steps on a large set and at least MIN_STEPS on a tiny one.

    Sets of ~1,800 to ~9,000 rows get 80 epochs. A larger one gets fewer (at least 5), so it is not
    trained into rebuilding its anomalies: on the full shuttle set (49k rows) 80 epochs scored
    0.958 ROC-AUC and 10–20 epochs 0.99, in a quarter of the time. A smaller one gets more, since
    80 epochs of a 129-row set are only 160 steps: 2,000 steps raised WBC 0.952 → 0.966 and the
    held-out wine and wdbc sets 0.61 → 0.65 and 0.86 → 0.89 (bench/anomaly.py, seeds 0–3).
    """
    steps_per_epoch = max(1, math.ceil(n_train / batch_size))
    epochs = min(MAX_DEFAULT_EPOCHS, math.ceil(STEP_BUDGET / steps_per_epoch))
    epochs = max(epochs, math.ceil(MIN_STEPS / steps_per_epoch))
    return max(MIN_DEFAULT_EPOCHS, epochs)


@dataclass(frozen=True)
class TrainingConfig:
    """Optimiser, batches, epochs, early stopping, seed and device.

    Defaults: batches of 64, `epochs` from the number of rows (`default_epochs`: 80, but about
    10,000 steps on a large set and at least 2,000 on a tiny one), and no validation split (`validation_fraction` 0, so no early
    stopping): on the bench sets, validation loss did not predict detection, and every row goes to
    training. Set `validation_fraction` > 0 to get early stopping back.
    """

    epochs: int | None = None
    batch_size: int = 64
    learning_rate: float = 0.001
    weight_decay: float = 0.0
    optimizer: str = "adam"
    validation_fraction: float = 0.0
    early_stopping_patience: int = 10
    gradient_clip: float | None = 5.0
    seed: int = 0
    device: str = "auto"
    devices: int = 1  # processes (GPUs) under torchrun DDP; the service launches them when > 1

    def __post_init__(self) -> None:
        if self.epochs is not None:
            _number("epochs", self.epochs, 1, 100_000, integer=True)
        _number("batch_size", self.batch_size, 1, 1 << 20, integer=True)
        _number("learning_rate", self.learning_rate, 1e-8, 10.0)
        _number("weight_decay", self.weight_decay, 0.0, 10.0)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _number("validation_fraction", self.validation_fraction, 0.0, 0.5)
        _number("early_stopping_patience", self.early_stopping_patience, 0, 100_000, integer=True)
        if self.gradient_clip is not None:
            _number("gradient_clip", self.gradient_clip, 1e-6, 1e6)
        _number("seed", self.seed, 0, 2**32 - 1, integer=True)
        _choice("device", self.device, DEVICES)
        _number("devices", self.devices, 1, 64, integer=True)

    @property
    def epoch_count(self) -> int:
        """`epochs`, which `DetectorConfig.resolved` derives from the rows when it is None."""
        if self.epochs is None:
            raise ValueError("training.epochs is unset: resolve the config for the data first")
        return self.epochs


@dataclass(frozen=True)
class CalibrationConfig:
    """How rows are scored, and the held-out share of rows whose scores make the p-values.

    `scoring`: "feature_normalized" divides each feature's squared reconstruction error by its
    median on the training rows and averages the members' scores; "mse" is the plain mean squared
    error of the averaged reconstruction (see models/scoring.py).
    """

    fraction: float = 0.1
    alpha: float = 0.01
    contamination: float | None = None
    scoring: str = "feature_normalized"

    def __post_init__(self) -> None:
        _choice("scoring", self.scoring, SCORINGS)
        _number("fraction", self.fraction, 0.01, 0.5)
        _number("alpha", self.alpha, 1e-6, 0.5)
        if self.contamination is not None:
            _number("contamination", self.contamination, 1e-6, 0.5)


SECTIONS: dict[str, type[Any]] = {
    "architecture": ArchitectureConfig,
    "preprocessing": PreprocessingConfig,
    "training": TrainingConfig,
    "calibration": CalibrationConfig,
}


@dataclass(frozen=True)
class DetectorConfig:
    """Everything that decides how a Detector is built, trained and calibrated."""

    architecture: ArchitectureConfig = field(default_factory=ArchitectureConfig)
    preprocessing: PreprocessingConfig = field(default_factory=PreprocessingConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Build a config from nested dicts; missing keys take defaults, unknown keys are errors."""
        _check_keys("", data, SECTIONS)
        sections = {name: _section(name, data.get(name) or {}) for name in SECTIONS}
        return cls(**sections)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready nested dict with every field present."""
        out = dataclasses.asdict(self)
        hidden = out["architecture"]["hidden_layers"]
        out["architecture"]["hidden_layers"] = None if hidden is None else list(hidden)
        return out

    def resolved(self, n_features: int, n_rows: int) -> DetectorConfig:
        """The same config with layer sizes and epochs derived for the data's shape."""
        training = self.training
        if training.epochs is None:
            n_train = self.split_sizes(n_rows)[2]
            training = replace(training, epochs=default_epochs(n_train, training.batch_size))
        return replace(self, architecture=self.architecture.resolved(n_features), training=training)

    def split_sizes(self, n_rows: int) -> tuple[int, int, int]:
        """How many of `n_rows` rows go to calibration, validation and training."""
        n_cal = max(1, round(self.calibration.fraction * n_rows))
        n_val = round(self.training.validation_fraction * (n_rows - n_cal))
        return n_cal, n_val, n_rows - n_cal - n_val


def _check_keys(prefix: str, data: object, allowed: dict[str, Any] | set[str]) -> None:
    if not isinstance(data, dict):
        raise ValueError(f"{prefix.rstrip('.') or 'config'}: must be an object")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValueError(f"{prefix}{unknown[0]}: unknown field")


def _section(name: str, data: object) -> Any:
    cls = SECTIONS[name]
    _check_keys(f"{name}.", data, {f.name for f in fields(cls)})
    try:
        return cls(**data)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ValueError(f"{name}.{exc}") from exc
