"""Data geometry (models/geometry.py): TwoNN and MLE against scikit-dimension (a dev-only
oracle), PCA counts against numpy's SVD, and `"auto"` sizes resolved from the training rows."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from models import Detector, DetectorConfig
from models.config import ArchitectureConfig
from models.geometry import ESTIMATES, measure, resolve

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # numba and matplotlib warn on import
    import skdim


def manifold(n: int, intrinsic: int = 5, d: int = 20, seed: int = 0) -> np.ndarray:
    """Rows on a random `intrinsic`-dimensional linear subspace of `d` dimensions."""
    rng = np.random.default_rng(seed)
    rows: np.ndarray = rng.normal(size=(n, intrinsic)) @ rng.normal(size=(intrinsic, d))
    return rows


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_nn_and_mle_equal_scikit_dimension(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = manifold(800, seed=seed) + 0.01 * rng.normal(size=(800, 20))
    found = measure(x, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        two_nn = skdim.id.TwoNN().fit(x).dimension_
        mle = skdim.id.MLE().fit(x, n_neighbors=20).dimension_
    assert found.two_nn == pytest.approx(two_nn, rel=1e-6, abs=1e-6)
    assert found.mle_k20 == pytest.approx(mle, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_two_nn_recovers_a_five_dimensional_linear_manifold(seed: int) -> None:
    two_nn = measure(manifold(20_000, seed=seed), seed).two_nn
    assert two_nn is not None and abs(two_nn - 5.0) <= 0.3


def test_pca_counts_and_participation_ratio_equal_an_svd() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3_000, 12)) * np.linspace(0.1, 3.0, 12)
    found = measure(x, 0)
    singular = np.linalg.svd(x - x.mean(axis=0), compute_uv=False)
    var = singular**2
    explained = np.cumsum(var) / var.sum()
    for share, got in ((0.90, found.pca_90), (0.95, found.pca_95), (0.99, found.pca_99)):
        assert got == 1 + int(np.argmax(explained >= share))
    assert found.participation_ratio == pytest.approx(var.sum() ** 2 / (var**2).sum(), rel=1e-9)


def test_measure_is_deterministic_for_a_seed_and_samples_5000_rows() -> None:
    x = manifold(12_000, seed=4)
    assert measure(x, 7) == measure(x, 7) and measure(x, 7).rows == 5_000


def test_auto_sizes_resolve_and_are_recorded() -> None:
    arch = ArchitectureConfig(code_size="auto", hidden_layers="auto")
    resolved, record = resolve(arch, manifold(3_000, intrinsic=4, d=30), seed=0)
    assert record is not None and record["rule"] == "pca_90"
    assert resolved.code_size == record["code_size"] == record["estimates"]["pca_90"] <= 4
    assert resolved.hidden_layers == (16, 8)  # 2 · pca_99 = 8 → 16 (the floor), then half
    assert set(record["estimates"]) == set(ESTIMATES)
    fixed = ArchitectureConfig(code_size=3)
    assert resolve(fixed, manifold(100), seed=0) == (fixed, None)


def test_a_detector_fits_with_auto_sizes() -> None:
    x = manifold(1_500, intrinsic=3, d=12, seed=5)
    config = DetectorConfig.from_dict(
        {"architecture": {"code_size": "auto"}, "training": {"epochs": 2}}
    )
    assert config.architecture.code_size == "auto"
    assert config.to_dict()["architecture"]["code_size"] == "auto"
    detector = Detector(config).fit(x)
    geometry = detector.geometry_
    assert geometry is not None and detector.config_.architecture.code_size == geometry["code_size"]
    assert geometry["code_size"] <= 3 and detector.embed(x[:5]).shape == (5, geometry["code_size"])
    again = Detector.from_bytes(detector.to_bytes())
    assert again.geometry_ == geometry


@pytest.mark.parametrize(
    ("value", "message"),
    [("wide", r"architecture\.code_size"), ("auto ", r"architecture\.code_size")],
)
def test_only_the_word_auto_is_taken(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DetectorConfig.from_dict({"architecture": {"code_size": value}})
    with pytest.raises(ValueError, match=r"architecture\.hidden_layers"):
        DetectorConfig.from_dict({"architecture": {"hidden_layers": value}})
