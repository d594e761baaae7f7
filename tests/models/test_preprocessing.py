from __future__ import annotations

import numpy as np
import pytest

from models.preprocessing import Scaler


@pytest.mark.parametrize("method", ["standard", "robust", "minmax", "none"])
def test_inverse_undoes_transform(method: str) -> None:
    x = np.random.default_rng(0).normal(5.0, 3.0, size=(50, 4)).astype(np.float32)
    scaler = Scaler.fit(x, method)
    np.testing.assert_allclose(scaler.inverse(scaler.transform(x)), x, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("method", ["standard", "robust", "minmax"])
def test_constant_column_gives_no_nan(method: str) -> None:
    x = np.column_stack([np.full(20, 7.0), np.arange(20.0)]).astype(np.float32)
    scaled = Scaler.fit(x, method).transform(x)
    assert np.isfinite(scaled).all()
    np.testing.assert_array_equal(scaled[:, 0], 0.0)


def test_standard_scaling_centres_and_scales() -> None:
    x = np.random.default_rng(1).normal(10.0, 4.0, size=(1_000, 2)).astype(np.float32)
    scaled = Scaler.fit(x, "standard").transform(x)
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(scaled.std(axis=0), 1.0, atol=1e-4)


def test_robust_scaling_ignores_one_huge_outlier() -> None:
    x = np.random.default_rng(2).normal(0.0, 1.0, size=(200, 1)).astype(np.float32)
    x[0, 0] = 1e6
    scaler = Scaler.fit(x, "robust")
    assert abs(float(scaler.center[0])) < 0.5
    assert 0.5 < float(scaler.scale[0]) < 3.0
