"""The choices of every enumerated config field, each a StrEnum (the HTTP schemas use them too)."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """The autoencoder's layer kind."""

    DENSE = "dense"


class Activation(StrEnum):
    """The non-linearity of every hidden block."""

    RELU = "relu"
    LEAKY_RELU = "leaky_relu"
    ELU = "elu"
    GELU = "gelu"
    SILU = "silu"
    TANH = "tanh"
    SIGMOID = "sigmoid"


class Normalization(StrEnum):
    """The normalisation after each hidden Linear layer."""

    NONE = "none"
    BATCH = "batch"
    LAYER = "layer"


class Variant(StrEnum):
    """The training objective: plain, denoising, sparse code or variational."""

    PLAIN = "plain"
    DENOISING = "denoising"
    SPARSE = "sparse"
    VARIATIONAL = "variational"


class Scaling(StrEnum):
    """How columns are scaled before training (models/preprocessing.py)."""

    STANDARD = "standard"
    ROBUST = "robust"
    ROBUST_BOUNDED = "robust_bounded"
    MINMAX = "minmax"
    NONE = "none"


class Optimizer(StrEnum):
    """The optimiser of every member."""

    ADAM = "adam"
    ADAMW = "adamw"
    SGD = "sgd"


class Device(StrEnum):
    """Where training runs; `auto` is CUDA when available."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


class Scoring(StrEnum):
    """How a row's reconstruction error becomes its anomaly score (models/scoring.py)."""

    FEATURE_NORMALIZED = "feature_normalized"
    MSE = "mse"


def _values(choices: type[StrEnum]) -> tuple[str, ...]:
    return tuple(choice.value for choice in choices)


KINDS = _values(Kind)
ACTIVATIONS = _values(Activation)
NORMALIZATIONS = _values(Normalization)
VARIANTS = _values(Variant)
SCALINGS = _values(Scaling)
OPTIMIZERS = _values(Optimizer)
DEVICES = _values(Device)
SCORINGS = _values(Scoring)
