"""Conformal p-values from the scores of held-out calibration rows."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """Sorted calibration scores; `p(s) = (1 + #{cal >= s}) / (n + 1)`."""

    scores: np.ndarray  # ascending

    @classmethod
    def from_scores(cls, scores: np.ndarray) -> Calibration:
        """Calibrate on the anomaly scores of rows known to be normal."""
        if scores.size == 0:
            raise ValueError("calibration needs at least one row")
        return cls(scores=np.sort(scores.astype(np.float64)))

    @property
    def n(self) -> int:
        """How many calibration rows."""
        return int(self.scores.size)

    def p_values(self, scores: np.ndarray) -> np.ndarray:
        """The conformal p-value of each score; small = unusual."""
        at_least = self.n - np.searchsorted(self.scores, scores.astype(np.float64), side="left")
        return (1.0 + at_least) / (self.n + 1.0)

    def threshold(self, alpha: float) -> float:
        """The score above which `p <= alpha`; +inf when no score can reach `alpha`."""
        allowed = math.floor(alpha * (self.n + 1) - 1 + 1e-9)  # calibration scores >= s allowed
        if allowed < 0:
            return math.inf
        return float(self.scores[self.n - 1 - allowed]) if allowed < self.n else -math.inf
