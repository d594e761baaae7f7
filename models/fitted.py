"""What a Detector learns, in one place: `Fitted`, and the scikit-learn style `…_` attributes on it.

`Detector.finish` (after training) and `serialization.from_bytes` (from a checkpoint) both build a
`Fitted`; the attributes below read from it, so an unfitted Detector raises `NotFitted` instead
of an `AttributeError` deep inside inference.
"""

from __future__ import annotations

from dataclasses import dataclass

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

    @property
    def best(self) -> EpochRecord:
        """The epoch whose weights the members hold (the last one without early stopping)."""
        h = self.history
        return h[self.best_epoch - 1] if 0 < self.best_epoch <= len(h) else h[-1]


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

    @property
    def config_(self) -> DetectorConfig:
        return self._state().config

    @property
    def columns_(self) -> list[str]:
        return self._state().columns

    @property
    def n_features_in_(self) -> int:
        return len(self._state().columns)

    @property
    def scaler_(self) -> Scaler:
        return self._state().scaler

    @property
    def members_(self) -> list[Autoencoder]:
        return self._state().members

    @property
    def feature_weights_(self) -> np.ndarray:
        return self._state().feature_weights

    @property
    def calibration_(self) -> Calibration:
        return self._state().calibration

    @property
    def contamination_threshold_(self) -> float | None:
        return self._state().contamination_threshold

    @property
    def history_(self) -> list[EpochRecord]:
        return self._state().history

    @property
    def best_epoch_(self) -> int:
        return self._state().best_epoch

    @property
    def stopped_(self) -> bool:
        return self._state().stopped

    @property
    def fit_seconds_(self) -> float:
        return self._state().fit_seconds

    @property
    def device_(self) -> torch.device:
        return self._state().device

    @property
    def train_loss_(self) -> float:
        return self._state().best.train_loss

    @property
    def val_loss_(self) -> float | None:
        return self._state().best.val_loss
