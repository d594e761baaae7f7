"""The latent view of a version: a seeded sample of its calibration rows, kept with the version,
their codes on a plane (PCA, or the code itself when it has at most 2 units), and their anomaly
scores and flags.

A Detector keeps only its calibration rows' scores, and a run (with its dataset) may be deleted
while its versions stay, so the rows are sampled at registration and stored as a `.npy` blob.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from models import DetectorConfig
from models.split import split_rows
from service.domain.arrays import FloatArray, array_to_npy, npy_to_array
from service.domain.inference import engine_call
from service.domain.lookup import DetectorCache
from service.domain.registry import finite_or_none, load_sample, resolve_ref
from service.errors import NoCalibrationSample

SAMPLE_ROWS = 5_000
SAMPLE_SEED = 0


def calibration_rows(x: FloatArray, config: DetectorConfig) -> FloatArray:
    """The rows a Detector fitted on `x` calibrated on: the split its fit made (`config` is the
    Detector's resolved `config_`)."""
    rows: FloatArray = x[split_rows(x.shape[0], config, seed=config.training.seed).calibration]
    return rows


def sample_of(rows: FloatArray) -> bytes:
    """At most SAMPLE_ROWS of `rows`, in a seeded random order (so any prefix is a random
    sample too), as `.npy` bytes."""
    order = np.random.default_rng(SAMPLE_SEED).permutation(rows.shape[0])[:SAMPLE_ROWS]
    return array_to_npy(rows[order])


@dataclass(frozen=True)
class Projection:
    """The scatter's data: one point per sampled calibration row."""

    model: str
    version: int
    method: str  # "pca", or "code" when the code has at most 2 units
    explained_variance: list[float]  # share of the codes' variance on each axis (PCA)
    x: FloatArray
    y: FloatArray
    scores: FloatArray
    is_anomaly: np.ndarray
    alpha: float
    rule: str
    threshold: float | None


def project(
    session: Session, cache: DetectorCache, ref: str, *, n: int, alpha: float | None
) -> Projection:
    """The codes of the first `n` sampled calibration rows of `ref`, on a plane, with their
    anomaly scores and flags at `alpha` (default: the version's own rule)."""
    model, version = resolve_ref(session, ref)
    data = load_sample(session, version)
    if data is None:
        raise NoCalibrationSample(
            f"version {version.version} of {model.name!r} was registered without a sample of "
            "its calibration rows (before they were kept): recalibrate it to get one"
        )
    detector = cache.get(session, version)
    rows = npy_to_array(data)[:n]
    plane, method, variance = to_plane(np.asarray(engine_call(detector.embed, rows)))
    found = engine_call(detector.assess, rows, alpha=alpha)
    return Projection(
        model=model.name,
        version=version.version,
        method=method,
        explained_variance=variance,
        x=plane[:, 0],
        y=plane[:, 1],
        scores=found.scores,
        is_anomaly=found.is_anomaly,
        alpha=float(found.alpha),
        rule=found.rule,
        threshold=finite_or_none(found.threshold),
    )


def to_plane(codes: FloatArray) -> tuple[FloatArray, str, list[float]]:
    """Codes → (n, 2) points: the code itself (zero-padded) when it has at most 2 units, else
    its first two principal components, each axis oriented so its largest loading is positive."""
    if codes.shape[1] <= 2:
        padded = np.zeros((codes.shape[0], 2))
        padded[:, : codes.shape[1]] = codes
        return padded, "code", []
    centered = codes - codes.mean(axis=0)
    _, singular, axes = np.linalg.svd(centered, full_matrices=False)
    axes = axes[:2]
    signs = np.sign(axes[np.arange(2), np.abs(axes).argmax(axis=1)])
    axes = axes * np.where(signs == 0, 1.0, signs)[:, None]
    variance = singular**2
    shares = variance[:2] / max(float(variance.sum()), 1e-300)
    return centered @ axes.T, "pca", [float(s) for s in shares]
