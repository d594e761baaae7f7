"""What a Detector learns, in one place: `Fitted`, and the scikit-learn style `…_` attributes on it.

`Detector.finish` (after training) and `serialization.from_bytes` (from a checkpoint) both build a
`Fitted`; the attributes below read from it, so an unfitted Detector raises `NotFitted` instead
of an `AttributeError` deep inside inference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

import numpy as np
import torch

from models.autoencoder import Autoencoder
from models.calibration import Calibration
from models.config import DetectorConfig
from models.errors import NotFitted
from models.preprocessing import Scaler
from models.trainer import EpochRecord


@dataclass(frozen=True)
class Fitted:
    """Everything a fitted Detector knows besides its requested config."""

    config: DetectorConfig  # resolved for the data: sizes and epochs filled in
    columns: list[str]
    scaler: Scaler
    members: list[Autoencoder]
    feature_weights: np.ndarray  # (members, features): 1 / typical squared error
    calibration: Calibration
    contamination_threshold: float | None
    history: list[EpochRecord]
    best_epoch: int
    stopped: bool
    fit_seconds: float
    device: torch.device
    scoring_masks: np.ndarray | None = None  # (masks, features) bool: hidden cells, scoring masked
    layer_stats: dict[str, Any] | None = None  # models/introspect.py, at the end of training
    train_mean: np.ndarray | None = None  # (features,) scaled: the attributions' baseline
    reference_rows: np.ndarray | None = None  # (≤ 1,024, features) calibration rows as given
    geometry: dict[str, Any] | None = None  # how "auto" sizes were resolved (models/geometry.py)

    @property
    def best(self) -> EpochRecord:
        """The epoch whose weights the members hold (the last one without early stopping)."""
        h = self.history
        return h[self.best_epoch - 1] if 0 < self.best_epoch <= len(h) else h[-1]


T = TypeVar("T")


class _Learned(Generic[T]):
    """A read-only attribute of a Detector that reads its `Fitted` state."""

    def __init__(self, read: Callable[[Fitted], T]) -> None:
        self._read = read

    @overload
    def __get__(self, owner: None, cls: type[Any]) -> _Learned[T]: ...
    @overload
    def __get__(self, owner: FittedAttributes, cls: type[Any]) -> T: ...
    def __get__(self, owner: FittedAttributes | None, cls: type[Any]) -> T | _Learned[T]:
        return self if owner is None else self._read(owner._state())


class FittedAttributes:
    """The learned attributes of a Detector, each read from its `Fitted` state."""

    _fitted: Fitted | None = None

    def _state(self) -> Fitted:
        if self._fitted is None:
            raise NotFitted(f"this {type(self).__name__} is not fitted yet: call fit() first")
        return self._fitted

    @property
    def is_fitted(self) -> bool:
        """True once `fit` (or `from_bytes`) has given the Detector its learned state."""
        return self._fitted is not None

    config_ = _Learned(lambda f: f.config)
    columns_ = _Learned(lambda f: f.columns)
    n_features_in_ = _Learned(lambda f: len(f.columns))
    scaler_ = _Learned(lambda f: f.scaler)
    members_ = _Learned(lambda f: f.members)
    feature_weights_ = _Learned(lambda f: f.feature_weights)
    calibration_ = _Learned(lambda f: f.calibration)
    contamination_threshold_ = _Learned(lambda f: f.contamination_threshold)
    history_ = _Learned(lambda f: f.history)
    best_epoch_ = _Learned(lambda f: f.best_epoch)
    stopped_ = _Learned(lambda f: f.stopped)
    fit_seconds_ = _Learned(lambda f: f.fit_seconds)
    device_ = _Learned(lambda f: f.device)
    scoring_masks_ = _Learned(lambda f: f.scoring_masks)
    layer_stats_ = _Learned(lambda f: f.layer_stats)
    train_mean_ = _Learned(lambda f: f.train_mean)
    reference_rows_ = _Learned(lambda f: f.reference_rows)
    geometry_ = _Learned(lambda f: f.geometry)
    train_loss_ = _Learned(lambda f: f.best.train_loss)
    val_loss_ = _Learned(lambda f: f.best.val_loss)
