from __future__ import annotations

import numpy as np
import pytest

from models.preprocessing import Scaler


@pytest.mark.parametrize("method", ["standard", "robust", "robust_bounded", "minmax", "none"])
def test_inverse_undoes_transform(method: str) -> None:
    x = np.random.default_rng(0).normal(5.0, 3.0, size=(50, 4)).astype(np.float32)
    scaler = Scaler.fit(x, method)
    np.testing.assert_allclose(scaler.inverse(scaler.transform(x)), x, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("method", ["standard", "robust", "robust_bounded", "minmax"])
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


def test_robust_bounded_is_median_and_normal_iqr_for_a_bulk_with_outliers() -> None:
    x = np.random.default_rng(3).normal(5.0, 2.0, size=(10_000, 1))
    x[:10, 0] = 100.0  # a few wild rows must not widen the scale of the normal ones
    scaler = Scaler.fit(x.astype(np.float32), "robust_bounded")
    q25, median, q75 = np.percentile(x, [25, 50, 75])
    assert float(scaler.center[0]) == pytest.approx(median, rel=1e-5)
    assert float(scaler.scale[0]) == pytest.approx(max((q75 - q25) / 1.349, x.std() / 3), rel=1e-4)
    assert 1.9 < float(scaler.scale[0]) < 2.1  # σ of the bulk, not of the outliers


def test_robust_bounded_never_shrinks_a_spiky_column_below_a_third_of_its_std() -> None:
    x = np.zeros((1_000, 1))
    x[::10, 0] = 100.0  # IQR 0: plain robust scaling would blow the spikes up
    scaler = Scaler.fit(x.astype(np.float32), "robust_bounded")
    assert float(scaler.scale[0]) == pytest.approx(x.std() / 3, rel=1e-5)
    assert Scaler.fit(x.astype(np.float32), "robust").scale[0] == pytest.approx(x.std())
