"""Shared data for the engine's tests: small, seeded, CPU-only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models import DetectorConfig

torch.set_num_threads(1)


def low_rank_rows(n: int, d: int = 8, rank: int = 3, seed: int = 0) -> np.ndarray:
    """Normal rows: a `rank`-dimensional signal mixed into `d` columns, plus small noise."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(rank, d))
    latent = rng.normal(size=(n, rank))
    noisy = latent @ mixing + 0.1 * rng.normal(size=(n, d))
    return (noisy * np.arange(1, d + 1) + 10.0).astype(np.float32)  # columns on different scales


@pytest.fixture(scope="session")
def normal_rows() -> np.ndarray:
    """2,000 normal rows."""
    return low_rank_rows(2_000)


def single_feature_anomalies(
    seed: int = 0, n: int = 1_000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """4,000 normal rows on a 5-D linear manifold in 20-D (plus noise of 0.05), and `n` rows of
    it with one column each shifted by 6σ: (normal, anomalies, which column)."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(5, 20))
    normal = rng.normal(size=(4_000, 5)) @ mixing + 0.05 * rng.normal(size=(4_000, 20))
    rows = rng.normal(size=(n, 5)) @ mixing + 0.05 * rng.normal(size=(n, 20))
    shifted = rng.integers(0, 20, size=n)
    signs = rng.choice([-1.0, 1.0], size=n)
    rows[np.arange(n), shifted] += 6.0 * signs * normal.std(axis=0)[shifted]
    return normal, rows, shifted


def small_config(**training: object) -> DetectorConfig:
    """A quick config: tiny net, few epochs; `training` overrides training fields."""
    return DetectorConfig.from_dict(
        {
            "architecture": {"hidden_layers": [16], "code_size": 3, "dropout": 0.0},
            "training": {
                "epochs": 5,
                "batch_size": 64,
                "validation_fraction": 0.1,
                "early_stopping_patience": 0,
                **training,
            },
        }
    )
