"""The choices of every enumerated config field, each a StrEnum whose values are its members'
names (the HTTP schemas use these enums too)."""

from __future__ import annotations

from enum import StrEnum

Kind = StrEnum("Kind", "dense")  # the layer kind of the autoencoder
Activation = StrEnum("Activation", "relu leaky_relu elu gelu silu tanh sigmoid")
Normalization = StrEnum("Normalization", "none batch layer")  # after each hidden Linear layer
Variant = StrEnum("Variant", "masked plain denoising sparse variational")  # the training objective
Scaling = StrEnum("Scaling", "standard robust robust_bounded minmax none")
Optimizer = StrEnum("Optimizer", "adam adamw sgd")
Device = StrEnum("Device", "auto cpu cuda")  # auto: CUDA when available
Scoring = StrEnum("Scoring", "masked feature_normalized mse")  # row error → anomaly score
