"""Choosing between trained configs: label metrics, ASHA's rung rule and the loss knee.

Pure numpy; the service's sweeps (service/domain/sweeps.py) drive Optuna with them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ETA = 3  # ASHA's reduction factor: a trial goes on past a rung when it is in the best 1/η there
KNEE = 0.8  # val_loss_knee: the share of the loss reduction a config must reach


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties averaged."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.arange(1, values.size + 1, dtype=np.float64)
    _, inverse, counts = np.unique(sorted_values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=np.arange(1, values.size + 1, dtype=np.float64))
    ranks[order] = (sums / counts)[inverse]
    return ranks


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: the chance a positive outscores a negative (ties count ½)."""
    positive = labels.astype(bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC-AUC needs positive and negative rows")
    ranks = _ranks(scores.astype(np.float64))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Σ (Rₙ − Rₙ₋₁) Pₙ over the distinct score thresholds, highest first (scikit-learn's)."""
    positive = labels.astype(bool)
    if not positive.any():
        raise ValueError("average precision needs positive rows")
    order = np.argsort(-scores.astype(np.float64), kind="stable")
    s, y = scores[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]  # the last row of each threshold
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def asha_promotes(value: float, competing: Sequence[float], eta: int = ETA) -> bool:
    """Whether a trial whose loss at a rung is `value` goes on: it must be among the best
    ⌊n/η⌋ of the n losses recorded at that rung (itself included), or the best of all while
    n < η (Optuna's SuccessiveHalvingPruner rule)."""
    ordered = sorted(competing)
    index = max(0, len(ordered) // eta - 1)
    return value <= ordered[index]


def is_rung(epoch: int, eta: int = ETA) -> bool:
    """Rungs at epochs 1, η, η², … (a minimum resource of one epoch)."""
    while epoch % eta == 0:
        epoch //= eta
    return epoch == 1


def knee(losses: Sequence[float], sizes: Sequence[int], share: float = KNEE) -> int:
    """The index of the smallest config (fewest parameters; then the lower loss) whose loss
    reaches `share` of the reduction from the worst loss to the best one."""
    worst, best = max(losses), min(losses)
    bar = worst - share * (worst - best)
    eligible = [i for i, loss in enumerate(losses) if loss <= bar + 1e-15]
    return min(eligible, key=lambda i: (sizes[i], losses[i]))
