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

from models.calibration import rows_to_reach
from models.choices import (
    Activation,
    Device,
    Kind,
    Normalization,
    Optimizer,
    Scaling,
    Scoring,
    Variant,
)
from models.knobs import Checked, knob

AUTO = "auto"  # a size resolved from the training rows' geometry (models/geometry.py)
MAX_DEPTH = 32  # hidden layers per encoder: deeper nets cost per-layer overhead, not accuracy
MAX_WIDTH = 65_536


@dataclass(frozen=True)
class ArchitectureConfig(Checked):
    """The autoencoder's shape. `None` sizes are derived from the number of features.

    Defaults (issue 5, bench/anomaly.py): dropout 0.2 and batch norm regularise the short training
    so the net learns the bulk of the data rather than every row; one member, because ensembles of
    3 did not detect better once training was long enough (0.859 vs 0.859 mean ROC-AUC).
    Variant `masked` (issue 16, docs/anomaly-quality.md): each training batch hides `mask_ratio`
    of its cells (set to 0, the scaled centre) and the net rebuilds every cell, so it learns to
    predict a cell from the others; with `calibration.scoring="masked"` it raised the held-out
    scikit-learn sets 0.684 → 0.715 and the embeddings 0.724 → 0.868, and kept the tabular mean
    (0.860), seeds 0–2.
    """

    kind: str = knob("dense", "The layer kind of the autoencoder.", choices=Kind)
    hidden_layers: tuple[int, ...] | str | None = knob(
        None,
        "Widths of the encoder's hidden layers, outermost first; the decoder mirrors them. "
        'Default: from the number of columns. "auto": two layers sized from the principal '
        "components that explain 99 % of the scaled training rows' variance.",
        low=1,
        high=MAX_WIDTH,
        max_items=MAX_DEPTH,
        words=(AUTO,),
    )
    code_size: int | str | None = knob(
        None,
        "Width of the code (the bottleneck). Default: from the number of columns. "
        '"auto": the principal components that explain 90 % of the scaled training rows\' '
        "variance (the run's config records every estimate).",
        low=1,
        high=MAX_WIDTH,
        words=(AUTO,),
    )
    activation: str = knob("relu", "The non-linearity of every hidden block.", choices=Activation)
    dropout: float = knob(
        0.2, "Dropout after every hidden block while training.", low=0.0, high=0.9
    )
    normalization: str = knob(
        "batch", "Normalisation after every hidden Linear layer.", choices=Normalization
    )
    variant: str = knob(
        "masked",
        "masked (each batch hides mask_ratio of its cells, the net rebuilds them all); plain; "
        "denoising (inputs get Gaussian noise of noise_std); sparse (L1 on the code, "
        "sparsity_weight); variational (a Gaussian code with a KL term of weight beta).",
        choices=Variant,
    )
    noise_std: float = knob(
        0.1, "Input noise of the denoising variant, in scaled units.", low=0.0, high=10.0
    )
    sparsity_weight: float = knob(
        0.001, "Weight of the sparse variant's L1 code penalty.", low=0.0, high=100.0
    )
    beta: float = knob(1.0, "Weight of the variational variant's KL term.", low=0.0, high=100.0)
    ensemble_size: int = knob(
        1, "Members trained with seeds seed, seed+1, …; their scores are averaged.", low=1, high=16
    )
    mask_ratio: float = knob(
        0.3,
        "Share of the cells hidden: per training batch (variant masked) and per scoring pass "
        "(scoring masked).",
        low=0.05,
        high=0.5,
    )

    def check_bottleneck(self, n_features: int) -> None:
        """Raise ValueError for a plain net whose code is as wide as its input: it can learn the
        identity and flags nothing. The other variants are regularised."""
        code = self.code_size
        if isinstance(code, int) and code >= n_features and self.variant == "plain":
            raise ValueError(
                f"architecture.code_size: a code of {code} for {n_features} columns is "
                "no bottleneck; use fewer units, or the masked, denoising, sparse or variational variant"
            )

    @property
    def is_auto(self) -> bool:
        """True while a size is "auto": it is resolved from the training rows (geometry.py)."""
        return AUTO in (self.code_size, self.hidden_layers)

    def resolved(self, n_features: int) -> ArchitectureConfig:
        """Fill `hidden_layers` and `code_size` by the default rule for `n_features` columns
        ("auto" sizes stay: only the training rows resolve them)."""
        if self.is_auto:
            return self
        code = self.code_size if self.code_size is not None else default_code_size(n_features)
        hidden = self.hidden_layers
        if hidden is None:
            hidden = default_hidden_layers(n_features, int(code))
        return replace(self, hidden_layers=hidden, code_size=code)

    def widest(self, n_features: int) -> ArchitectureConfig:
        """The widest net "auto" sizes can resolve to (a code of `n_features` columns)."""
        code = n_features if self.code_size == AUTO else self.code_size
        hidden = self.hidden_layers
        if hidden == AUTO:
            hidden = default_hidden_layers(n_features, n_features)
        return replace(self, code_size=code, hidden_layers=hidden).resolved(n_features)

    def parameter_count(self, n_features: int) -> int:
        """Trainable parameters of all members for `n_features` columns, without building them
        (for "auto" sizes: of the widest net they can resolve to)."""
        arch = self.widest(n_features)
        assert isinstance(arch.hidden_layers, tuple) and isinstance(arch.code_size, int)
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
class PreprocessingConfig(Checked):
    """How columns are scaled before training; fitted on the training rows only.

    Default `robust_bounded` (median, IQR/1.349, but at least std/3): outliers in the data do not
    compress the scale of the normal rows, and a spiky column cannot dominate the loss.
    """

    scaling: str = knob(
        "robust_bounded",
        "Column scaling fitted on the training rows: standard (mean, std), robust (median, IQR), "
        "robust_bounded (median, IQR/1.349 but at least std/3), minmax, or none.",
        choices=Scaling,
    )


STEP_BUDGET = 10_000  # default training length of a large set, in optimiser steps
MAX_DEFAULT_EPOCHS = 80
WIDE_DEFAULT_EPOCHS = 40  # … when the columns outnumber the training rows
MIN_DEFAULT_EPOCHS = 5


def default_epochs(n_train: int, batch_size: int, n_features: int = 0) -> int:
    """80 epochs (40 for wide data), but about STEP_BUDGET steps on a large set (at least 5).

    A set of up to ~9,000 rows gets 80 epochs. A larger one gets fewer, so it is not trained into
    rebuilding its anomalies: on the full shuttle set (49k rows) 80 epochs scored 0.958 ROC-AUC and
    10–20 epochs 0.99, in a quarter of the time. A small set is not trained longer either: a floor
    of 2,000 steps (330–1,000 epochs of a few hundred rows) let the net rebuild the anomalies of
    the wide, short embeddings sets (ROC-AUC 0.85–0.90 after 50–400 steps, 0.30–0.58 on
    toothbrush, transistor, cable and metal_nut after 2,000), issue 16, bench/anomaly_curves.py.
    When the columns outnumber the training rows (`n_features` ≥ `n_train`: embeddings of a few
    hundred items), the net has far more weights than there are rows to fit and learns them
    faster: 40 epochs raised the embeddings family 0.864 → 0.868 (seeds 0–2) and halved the fit.
    """
    steps_per_epoch = max(1, math.ceil(n_train / batch_size))
    cap = WIDE_DEFAULT_EPOCHS if n_features >= n_train else MAX_DEFAULT_EPOCHS
    epochs = min(cap, math.ceil(STEP_BUDGET / steps_per_epoch))
    return max(MIN_DEFAULT_EPOCHS, epochs)


@dataclass(frozen=True)
class TrainingConfig(Checked):
    """Optimiser, batches, epochs, early stopping, seed and device.

    Defaults: batches of 64, `epochs` from the shape (`default_epochs`: 80, 40 when the columns
    outnumber the rows, but about 10,000 steps on a large set), and no validation split
    (`validation_fraction` 0, so no early stopping): on the bench sets, validation loss did not
    predict detection, and every row goes to training. Set `validation_fraction` > 0 to get
    early stopping back.
    """

    epochs: int | None = knob(
        None,
        "Passes over the training rows. Default: from the data's shape (default_epochs).",
        low=1,
        high=100_000,
    )
    batch_size: int = knob(64, "Rows per optimiser step.", low=1, high=1 << 20)
    learning_rate: float = knob(0.001, "The optimiser's learning rate.", low=1e-8, high=10.0)
    weight_decay: float = knob(0.0, "L2 weight decay (decoupled for adamw).", low=0.0, high=10.0)
    optimizer: str = knob("adam", "adam, adamw, or sgd with momentum 0.9.", choices=Optimizer)
    validation_fraction: float = knob(
        0.0,
        "Share of the non-calibration rows held out for validation; > 0 turns on early "
        "stopping and restores the best epoch's weights.",
        low=0.0,
        high=0.5,
    )
    early_stopping_patience: int = knob(
        10,
        "Epochs without a better validation loss before a member stops; 0 never stops early.",
        low=0,
        high=100_000,
    )
    gradient_clip: float | None = knob(
        5.0, "Largest gradient 2-norm per step; null: no clipping.", low=1e-6, high=1e6
    )
    seed: int = knob(0, "Seeds the split, the weights and the batches.", low=0, high=2**32 - 1)
    device: str = knob(
        "auto", "Where training runs: auto (CUDA when available), cpu or cuda.", choices=Device
    )
    devices: int = knob(
        1,
        "Processes (one GPU each, or CPU processes) that train together under torchrun DDP.",
        low=1,
        high=64,
    )

    @property
    def epoch_count(self) -> int:
        """`epochs`, which `DetectorConfig.resolved` derives from the rows when it is None."""
        if self.epochs is None:
            raise ValueError("training.epochs is unset: resolve the config for the data first")
        return self.epochs


@dataclass(frozen=True)
class CalibrationConfig(Checked):
    """How rows are scored, and the held-out share of rows whose scores make the p-values.

    The held-out rows are at least the `rows_to_reach(alpha)` that alpha needs (99 for 0.01)
    whenever that leaves half the rows for training (`calibration_rows`), so a default run on
    198 rows or more can always reach alpha 0.01. `fence` (default 3.5) leaves out held-out rows
    whose log-score is that many robust standard deviations above the median: anomalies among
    the training rows that would otherwise hide every other anomaly (models/calibration.py).

    `scoring`: "masked" (default) is "feature_normalized" on masked-cell errors: each cell's error
    when it was hidden from the net (models/masking.py); "feature_normalized" divides each
    feature's squared reconstruction error by its median on the training rows and averages the
    members' scores; "mse" is the plain mean squared error of the averaged reconstruction (see
    models/scoring.py).
    """

    fraction: float = knob(
        0.1,
        "Share of the rows held out (never trained on) whose scores make the p-values; at least "
        "the rows alpha needs (99 for 0.01) when half the rows remain for training.",
        low=0.01,
        high=0.5,
    )
    alpha: float = knob(
        0.01,
        "Default significance: a row is flagged when its p-value is <= alpha.",
        low=1e-6,
        high=0.5,
    )
    contamination: float | None = knob(
        None,
        "Expected share of anomalies among the training rows: when set, rows scoring above that "
        "quantile of the training scores are flagged (unless a request gives alpha).",
        low=1e-6,
        high=0.5,
    )
    fence: float | None = knob(
        3.5,
        "Held-out rows whose log-score lies more than this many robust standard deviations "
        "(1.4826 x MAD) above the median are taken for anomalies among the training rows and "
        "left out of the p-values (never so many that alpha becomes unreachable); null keeps "
        "every held-out row.",
        low=1.0,
        high=100.0,
    )
    scoring: str = knob(
        "masked",
        "masked: feature_normalized on each cell's error while it was hidden from the net; "
        "feature_normalized: each feature's squared error over its typical training error, "
        "averaged; mse: the plain mean squared error.",
        choices=Scoring,
    )


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

    def __post_init__(self) -> None:
        if self.architecture.normalization == "batch" and self.training.batch_size < 2:
            raise ValueError(
                "training.batch_size: batch normalisation needs at least 2 rows per batch "
                "(with 1 nothing would be trained); use 2 or more, or another normalization"
            )

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
        out["architecture"]["hidden_layers"] = hidden if hidden in (None, AUTO) else list(hidden)
        return out

    def resolved(self, n_features: int, n_rows: int) -> DetectorConfig:
        """The same config with layer sizes and epochs derived for the data's shape."""
        training = self.training
        if training.epochs is None:
            n_train = self.split_sizes(n_rows)[2]
            epochs = default_epochs(n_train, training.batch_size, n_features)
            training = replace(training, epochs=epochs)
        return replace(self, architecture=self.architecture.resolved(n_features), training=training)

    def split_sizes(self, n_rows: int) -> tuple[int, int, int]:
        """How many of `n_rows` rows go to calibration, validation and training."""
        n_cal = calibration_rows(n_rows, self.calibration.fraction, self.calibration.alpha)
        n_val = round(self.training.validation_fraction * (n_rows - n_cal))
        return n_cal, n_val, n_rows - n_cal - n_val


def calibration_rows(n_rows: int, fraction: float, alpha: float) -> int:
    """`fraction` of the rows, but at least the rows `alpha` needs when that leaves half of them
    for training (with fewer rows alpha stays out of reach, and the run says so in `warnings`)."""
    share = max(1, round(fraction * n_rows))
    needed = rows_to_reach(alpha)
    return max(share, needed) if needed <= n_rows // 2 else share


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
