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
