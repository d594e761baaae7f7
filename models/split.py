"""How a Detector divides its rows: calibration (never trained on), validation, training."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.config import DetectorConfig
from models.errors import InvalidInput


@dataclass(frozen=True)
class Split:
    """Row indices of each part; `fit` = train ∪ val, the rows the scaler is fitted on."""

    train: np.ndarray
    val: np.ndarray
    calibration: np.ndarray

    @property
    def fit(self) -> np.ndarray:
        """The rows the model may learn from (scaling, training, early stopping)."""
        return np.concatenate([self.train, self.val])


def split_rows(n: int, config: DetectorConfig, *, seed: int) -> Split:
    """Shuffle `n` rows under `seed` and cut off the calibration, then the validation rows."""
    n_cal, n_val, n_train = config.split_sizes(n)
    if n_train < 2:
        raise InvalidInput(
            f"{n} rows are too few: calibration takes {n_cal} and validation {n_val}, "
            "and training needs at least 2"
        )
    order = np.random.default_rng(seed).permutation(n)
    return Split(
        train=np.sort(order[n_cal + n_val :]),
        val=np.sort(order[n_cal : n_cal + n_val]),
        calibration=np.sort(order[:n_cal]),
    )
