"""Attributions, traversals, unit examples and CKA (models/attribution.py): completeness, Captum
as the oracle for Integrated Gradients, and single-feature anomalies found by their feature."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
import torch

from models import Detector, DetectorConfig
from models.attribution import (
    NotKept,
    attribute,
    compare,
    double,
    integrated_gradients,
    linear_cka,
    score_target,
    target_and_baseline,
    traverse,
    unit_examples,
    unit_target,
)
from tests.models.conftest import low_rank_rows, single_feature_anomalies

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # matplotlib warns on import
    from captum.attr import IntegratedGradients


@pytest.fixture(scope="module")
def fitted() -> Detector:
    """The default architecture (relu, batch norm, masked) on low-rank rows."""
    config = DetectorConfig.from_dict({"training": {"epochs": 8, "seed": 1}})
    return Detector(config).fit(low_rank_rows(2_000, d=10, seed=3))


def _complete(gap: np.ndarray, values: np.ndarray) -> float:
    """The share of rows whose completeness gap is within 1e-3 · max(1, |f(x)|)."""
    return float(np.mean(gap <= 1e-3 * np.maximum(1.0, np.abs(values))))


def _smooth(activation: str) -> Detector:
    config = DetectorConfig.from_dict(
        {"architecture": {"activation": activation}, "training": {"epochs": 8, "seed": 1}}
    )
    return Detector(config).fit(low_rank_rows(2_000, d=10, seed=3))


@pytest.mark.parametrize("activation", ["gelu", "silu", "tanh"])
def test_integrated_gradients_are_complete_for_99_percent_of_rows(activation: str) -> None:
    detector = _smooth(activation)
    x = low_rank_rows(400, d=10, seed=11)
    x[:40, 2] += 30.0  # some odd rows too
    for unit in [(0, 3), (1, 2), (3, 7), None]:
        found = attribute(detector, x, unit=unit)
        assert found.attributions.shape == (400, 10)
        assert _complete(found.completeness_gap, found.values) >= 0.99, (activation, unit)
        delta = found.values - found.baseline_values
        np.testing.assert_allclose(
            np.abs(found.attributions.sum(axis=1) - delta), found.completeness_gap, atol=1e-12
        )


def test_a_relu_nets_gap_shrinks_with_more_steps(fitted: Detector) -> None:
    """A relu net's gradient jumps along the path, so 32 quadrature points leave a gap (it is
    returned); more steps close it."""
    x = low_rank_rows(200, d=10, seed=11)
    coarse = attribute(fitted, x, unit=(1, 2)).completeness_gap
    fine = attribute(fitted, x, unit=(1, 2), steps=512).completeness_gap
    assert np.median(fine) < np.median(coarse) / 4


@pytest.mark.parametrize("unit", [(1, 2), None])
def test_integrated_gradients_equal_captums(fitted: Detector, unit: tuple[int, int] | None) -> None:
    x = low_rank_rows(64, d=10, seed=12)
    ours = attribute(fitted, x, unit=unit)
    z = fitted.scale(x).double()
    f, baseline = target_and_baseline(fitted, z, unit)
    theirs = IntegratedGradients(f).attribute(
        z, baselines=baseline, n_steps=32, method="gausslegendre"
    )
    np.testing.assert_allclose(ours.attributions, theirs.detach().numpy(), rtol=0, atol=1e-4)


@pytest.mark.parametrize("scoring", ["masked", "feature_normalized", "mse"])
def test_the_score_target_is_the_detectors_score(scoring: str) -> None:
    config = DetectorConfig.from_dict(
        {"training": {"epochs": 2}, "calibration": {"scoring": scoring}}
    )
    detector = Detector(config).fit(low_rank_rows(600, d=6))
    x = low_rank_rows(50, d=6, seed=5)
    f = score_target(
        double(detector.members_), detector.feature_weights_, detector.scoring_masks_, scoring
    )
    with torch.no_grad():
        ours = f(detector.scale(x).double()).numpy()
    np.testing.assert_allclose(ours, detector.score(x), rtol=1e-4)


def test_gradient_x_input_is_the_gradient_at_the_row(fitted: Detector) -> None:
    x = low_rank_rows(5, d=10, seed=13)
    found = attribute(fitted, x, unit=(1, 0), method="gradient_x_input")
    net = double(fitted.members_)[0]
    f = unit_target(net, 1, 0)
    z = fitted.scale(x).double()
    baseline = torch.from_numpy(fitted.train_mean_)
    eps = 1e-6
    for j in range(10):
        step = torch.zeros(10, dtype=torch.float64)
        step[j] = eps
        with torch.no_grad():
            slope = (f(z + step) - f(z - step)) / (2 * eps)
        expected = (z[:, j] - baseline[j]) * slope
        np.testing.assert_allclose(found.attributions[:, j], expected.numpy(), atol=1e-6)


def test_a_linear_target_has_no_completeness_gap() -> None:
    weights = torch.arange(1.0, 6.0, dtype=torch.float64)
    x = torch.randn(20, 5, dtype=torch.float64)
    found = integrated_gradients(lambda z: z @ weights, x, torch.zeros_like(x))
    np.testing.assert_allclose(found.attributions, (x * weights).numpy(), atol=1e-12)
    assert found.completeness_gap.max() < 1e-12


def test_single_feature_anomalies_are_found_by_their_feature() -> None:
    """5-D linear manifold in 20-D; each anomaly shifts one feature by 6σ: the top feature by
    per-feature error and by IG of the score must be the shifted one for ≥ 95 % of 1,000."""
    normal, rows, shifted = single_feature_anomalies()
    detector = Detector(DetectorConfig.from_dict({"training": {"epochs": 30}})).fit(normal)
    by_error = [row[0]["feature"] for row in detector.explain(rows, 1)]
    error_right = np.mean([name == f"f{j}" for name, j in zip(by_error, shifted, strict=True)])
    found = attribute(detector, rows)
    ig_right = np.mean(np.argmax(found.attributions, axis=1) == shifted)
    assert error_right >= 0.95, error_right
    assert ig_right >= 0.95, ig_right


def test_cka_of_a_version_with_itself_is_one(fitted: Detector) -> None:
    code, layers, rows = compare(fitted, fitted)
    assert abs(code - 1.0) <= 1e-9 and all(abs(v - 1.0) <= 1e-9 for v in layers)
    assert rows == fitted.reference_rows_.shape[0] == 200


def test_cka_is_blind_to_rotation_and_scale_and_sees_noise() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 6))
    rotation, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    assert linear_cka(a, 3.0 * a @ rotation + 1.0) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(a, rng.normal(size=(300, 6))) < 0.2
    x, y = a - a.mean(0), (b := rng.normal(size=(300, 4))) - b.mean(0)
    brute = np.trace(x @ x.T @ y @ y.T) / np.sqrt(
        np.trace(x @ x.T @ x @ x.T) * np.trace(y @ y.T @ y @ y.T)
    )
    assert linear_cka(a, b) == pytest.approx(brute, rel=1e-12)


def test_a_traversal_moves_one_code_unit(fitted: Detector) -> None:
    values = [-2.0, 0.0, 2.0]
    codes, rebuilt = traverse(fitted, 1, values)
    assert codes.shape == (3, fitted.members_[0].shape.code) and rebuilt.shape == (3, 10)
    np.testing.assert_allclose(codes[:, 1], values)
    assert np.ptp(np.delete(codes, 1, axis=1), axis=0).max() == 0  # the others stay
    net = fitted.members_[0]
    with torch.no_grad():
        direct = net.decode(torch.from_numpy(codes).float()).numpy()
    np.testing.assert_allclose(rebuilt, fitted.scaler_.inverse(direct), rtol=1e-6)
    row = low_rank_rows(1, d=10, seed=4)
    codes_row, _ = traverse(fitted, 0, [5.0], row)
    np.testing.assert_allclose(np.delete(codes_row[0], 0), np.delete(fitted.embed(row)[0], 0))


def test_unit_examples_rank_the_kept_calibration_rows(fitted: Detector) -> None:
    found = unit_examples(fitted, 0, 4, 10)
    activations = fitted.embed(found.top_rows, layer=0)[:, 4]
    np.testing.assert_allclose(activations, found.top_activations, rtol=1e-5)
    assert list(found.top_activations) == sorted(found.top_activations, reverse=True)
    assert list(found.bottom_activations) == sorted(found.bottom_activations)
    every = fitted.embed(fitted.reference_rows_, layer=0)[:, 4]
    assert found.top_activations[0] == pytest.approx(every.max(), rel=1e-5)
    assert found.n_rows == 200


def test_a_model_that_kept_no_rows_says_so(fitted: Detector) -> None:
    older = Detector(fitted.config)
    older._fitted = replace(fitted._state(), reference_rows=None)
    with pytest.raises(NotKept, match="keeps no calibration rows"):
        unit_examples(older, 0, 0, 3)
    with pytest.raises(NotKept):
        compare(older, fitted)
