"""Anomaly scores from reconstruction errors: plain or per-feature normalised, member-averaged.

`scoring="mse"`: the mean squared reconstruction error of the averaged reconstruction.
`scoring="masked"` (default): as "feature_normalized", on each cell's error while it was hidden
from the net (models/masking.py).
`scoring="feature_normalized"`: each member's squared error per feature is divided by
that feature's median squared error on the training rows, the row's score is the mean over features,
and the members' scores are averaged. A feature the model always rebuilds poorly then no longer
drowns out a feature it normally rebuilds well; a row is odd when it is poorly rebuilt *for that
feature*. Scores stay reconstruction errors (in units of the typical training error); the parts
a row's score is made of are its features' contributions, which is what explanations report.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from models import masking
from models.autoencoder import Autoencoder
from models.objective import EVAL_CHUNK

__all__ = [
    "contributions",
    "feature_weights",
    "member_errors",
    "reconstructions",
    "scores",
]
_RELATIVE_FLOOR = 1e-3  # a feature's typical error is at least this share of the average one
_ABSOLUTE_FLOOR = 1e-6  # … and at least this (scaled units squared), so weights stay finite


@torch.inference_mode()
def reconstructions(
    members: Sequence[Autoencoder], z: torch.Tensor
) -> tuple[torch.Tensor, np.ndarray]:
    """The members' averaged reconstruction (rows, features) and their signed errors, one pass."""
    recon = torch.empty_like(z)
    errors = np.empty((len(members), *z.shape), dtype=np.float64)
    for start in range(0, z.shape[0], EVAL_CHUNK):
        zb = z[start : start + EVAL_CHUNK]
        rebuilt = torch.stack([net(zb).reconstruction for net in members])
        recon[start : start + zb.shape[0]] = rebuilt.mean(dim=0)
        errors[:, start : start + zb.shape[0]] = (zb - rebuilt).cpu().numpy()
    return recon, errors


def member_errors(
    members: Sequence[Autoencoder], z: torch.Tensor, hidden: np.ndarray | None = None
) -> np.ndarray:
    """Signed errors `z − reconstruction` of every member: (members, rows, features), float64.

    With `hidden` (masks from `masking.partitions`), each cell's error is that of the
    reconstructions in which it was hidden (see models/masking.py).
    """
    if hidden is None:
        return reconstructions(members, z)[1]
    out = np.empty((len(members), *z.shape), dtype=np.float64)
    chunk = max(1, EVAL_CHUNK // hidden.shape[0])  # every row is rebuilt once per mask
    for start in range(0, z.shape[0], chunk):
        zb = z[start : start + chunk]
        out[:, start : start + zb.shape[0]] = masking.masked_errors(members, zb, hidden)
    return out


def feature_weights(errors: np.ndarray, scoring: str) -> np.ndarray:
    """Per member and feature, 1 / the typical squared error on the training rows (members, d)."""
    n_members, _, n_features = errors.shape
    if scoring == "mse":
        return np.ones((n_members, n_features))
    if scoring not in ("feature_normalized", "masked"):
        raise ValueError(f"unknown scoring {scoring!r}")
    typical = np.median(errors**2, axis=1)
    floor = np.maximum(_RELATIVE_FLOOR * typical.mean(axis=1, keepdims=True), _ABSOLUTE_FLOOR)
    weights: np.ndarray = 1.0 / np.maximum(typical, floor)
    return weights


def contributions(errors: np.ndarray, weights: np.ndarray, scoring: str) -> np.ndarray:
    """Each feature's part of each row's score (rows, features); the score is their sum."""
    n_features = errors.shape[2]
    if scoring == "mse":
        mean_error = errors.mean(axis=0)  # error of the averaged reconstruction
        plain: np.ndarray = mean_error**2 * weights.mean(axis=0) / n_features
        return plain
    parts: np.ndarray = np.mean(errors**2 * weights[:, None, :], axis=0) / n_features
    return parts


def scores(errors: np.ndarray, weights: np.ndarray, scoring: str) -> np.ndarray:
    """The anomaly score of each row: the sum of its features' contributions."""
    total: np.ndarray = contributions(errors, weights, scoring).sum(axis=1)
    return total
