"""Conformal p-values and the threshold that matches them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.calibration import Calibration


def test_a_p_value_counts_the_calibration_scores_at_least_as_high() -> None:
    calibration = Calibration.from_scores(np.array([4.0, 1.0, 3.0, 2.0]))  # n = 4
    p = calibration.p_values(np.array([0.0, 1.0, 2.5, 4.0, 9.0]))
    np.testing.assert_allclose(p, [5 / 5, 5 / 5, 3 / 5, 2 / 5, 1 / 5])


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1, 0.2, 0.5, 0.9])
def test_rows_above_the_threshold_are_exactly_those_with_p_at_most_alpha(alpha: float) -> None:
    rng = np.random.default_rng(0)
    calibration = Calibration.from_scores(rng.exponential(size=99))
    scores = np.concatenate([rng.exponential(size=2_000), calibration.scores])
    flagged = calibration.p_values(scores) <= alpha
    np.testing.assert_array_equal(scores > calibration.threshold(alpha), flagged)
    assert flagged.any()


def test_an_alpha_below_the_smallest_p_value_has_an_infinite_threshold() -> None:
    calibration = Calibration.from_scores(np.arange(9.0))  # smallest p-value: 1/10
    assert math.isinf(calibration.threshold(0.09)) and calibration.threshold(0.09) > 0
    assert math.isfinite(calibration.threshold(0.1))


def test_calibration_needs_a_row() -> None:
    with pytest.raises(ValueError, match="at least one row"):
        Calibration.from_scores(np.array([]))
