"""The detectors bench/anomaly.py compares: Hourglass under a config, and four baselines.

Each scorer fits on all rows without labels and scores all rows (higher = odder); it returns the
scores, the fit seconds and, for Hourglass, what the fit did (epochs run, the epoch kept).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest

from models import Detector, DetectorConfig

BASELINES = ("iforest", "pyod_ae", "ecod", "pca")
DETECTORS = ("hourglass", *BASELINES)
LABELS = {
    "hourglass": "Hourglass",
    "iforest": "IsolationForest",
    "pyod_ae": "PyOD AutoEncoder",
    "ecod": "ECOD",
    "pca": "PCA (PyOD)",
}


@dataclass(frozen=True)
class Fit:
    """One detector fitted on all rows: every row's score and the fit seconds."""

    scores: np.ndarray
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)


Scorer = Callable[[np.ndarray], Fit]


def hourglass(x: np.ndarray, config: DetectorConfig) -> Fit:
    """The Hourglass Detector's scores of every row after fitting on all rows."""
    det = Detector(config).fit(x)
    info = {"epochs_run": len(det.history_), "best_epoch": det.best_epoch_}
    info.update(getattr(det, "fit_info_", {}))
    return Fit(det.score(x), det.fit_seconds_, info)


def iforest(x: np.ndarray) -> Fit:
    """IsolationForest (scikit-learn defaults, random_state=0)."""
    started = time.perf_counter()
    forest = IsolationForest(random_state=0).fit(x)
    seconds = time.perf_counter() - started
    return Fit(-forest.score_samples(x), seconds)


def _pyod(model: Any, x: np.ndarray) -> Fit:
    x = x.astype(np.float64)  # in float32, a near-zero principal component (cardio) becomes 0
    started = time.perf_counter()
    model.fit(x)
    seconds = time.perf_counter() - started
    return Fit(np.asarray(model.decision_function(x), dtype=np.float64), seconds)


def pyod_ae(x: np.ndarray) -> Fit:
    """PyOD's AutoEncoder with its defaults (it standardises the features itself)."""
    from pyod.models.auto_encoder import AutoEncoder

    return _pyod(AutoEncoder(verbose=0), x)


def ecod(x: np.ndarray) -> Fit:
    """PyOD's ECOD (empirical-CDF tails; no parameters)."""
    from pyod.models.ecod import ECOD

    return _pyod(ECOD(), x)


def pca(x: np.ndarray) -> Fit:
    """PyOD's PCA detector with its defaults (standardised, all components, weighted).

    Constant columns are dropped first: a zero-variance component makes PyOD's weighted
    distances infinite for every row.
    """
    from pyod.models.pca import PCA

    varying = x.std(axis=0) > 0
    return _pyod(PCA(), x[:, varying])


def baseline(name: str) -> Scorer:
    """The scorer of a baseline by name."""
    scorers: dict[str, Scorer] = {"iforest": iforest, "pyod_ae": pyod_ae, "ecod": ecod, "pca": pca}
    return scorers[name]
