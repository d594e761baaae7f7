"""Conformal p-values from the scores of held-out calibration rows.

The calibration rows are held out of the training rows, and training rows may contain anomalies
(an unlabelled sensor log, the cardio quick start: 9.6 %). Anomalies among the calibration rows
make the p-values of every other anomaly large: on cardio the alpha-0.01 threshold was the
highest calibration score and not one of 1,831 rows was flagged. So `held_out` leaves out the
rows beyond a fence on the log-scores (`fence` robust standard deviations above their median),
as anomalies among the training rows, but never so many that `alpha` becomes unreachable
(README "Flags on data that contains anomalies" has the measurements).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_MAD_TO_SD = 1.4826  # a normal distribution's standard deviation per median absolute deviation
_TINY = np.finfo(np.float64).tiny


@dataclass(frozen=True)
class Calibration:
    """Sorted calibration scores; `p(s) = (1 + #{cal >= s}) / (n + 1)`."""

    scores: np.ndarray  # ascending
    excluded: int = 0  # held-out rows left out beyond the fence (anomalies among training rows)

    @classmethod
    def from_scores(cls, scores: np.ndarray) -> Calibration:
        """Calibrate on the anomaly scores of rows known to be normal."""
        if scores.size == 0:
            raise ValueError("calibration needs at least one row")
        return cls(scores=np.sort(scores.astype(np.float64)))

    @classmethod
    def held_out(cls, scores: np.ndarray, *, fence: float | None, keep: int) -> Calibration:
        """Calibrate on held-out training rows, leaving out those whose log-score lies more than
        `fence` robust standard deviations above the median, as long as `keep` rows stay."""
        every = cls.from_scores(scores)
        if fence is None:
            return every
        beyond = int(np.count_nonzero(every.scores > fence_value(every.scores, fence)))
        excluded = max(0, min(beyond, every.n - max(1, keep)))
        return cls(scores=every.scores[: every.n - excluded], excluded=excluded)

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


def fence_value(scores: np.ndarray, fence: float) -> float:
    """The score `fence` robust standard deviations (1.4826 × MAD) above the median, on the log
    scale (scores are squared errors: skewed, but about log-normal); +inf when the MAD is 0."""
    logs = np.log(np.maximum(scores, _TINY))
    median = float(np.median(logs))
    spread = _MAD_TO_SD * float(np.median(np.abs(logs - median)))
    if spread <= 0.0:
        return math.inf
    return math.exp(min(median + fence * spread, 700.0))


def rows_to_reach(alpha: float) -> int:
    """Calibration rows a p-value needs to reach `alpha` (it is at least 1 / (n + 1)):
    ceil(1 / alpha) − 1, so 99 for 0.01."""
    return max(1, math.ceil(1.0 / alpha - 1e-9) - 1)


def smallest_alpha(n_calibration: int) -> float:
    """The smallest p-value `n_calibration` rows can give: 1 / (n + 1)."""
    return 1.0 / (n_calibration + 1)
