"""The Detector's decision rule: alpha or contamination, said in the answer, warned when empty."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models import Detector, DetectorConfig
from models.calibration import Calibration
from models.decision import decide, smallest_alpha

from .conftest import low_rank_rows, small_config


def test_alpha_flags_p_values_at_most_alpha() -> None:
    calibration = Calibration.from_scores(np.arange(1.0, 100.0))  # 99 rows: p down to 0.01
    found = decide(
        np.array([0.5, 98.5, 200.0]),
        calibration,
        alpha=0.02,
        default_alpha=0.01,
        contamination_threshold=None,
    )
    assert found.rule == "alpha" and found.alpha == 0.02
    np.testing.assert_array_equal(found.is_anomaly, found.p_values <= 0.02)
    assert found.is_anomaly.tolist() == [False, True, True] and not found.warnings
    assert (found.scores[found.is_anomaly] > found.threshold).all()


def test_contamination_rules_unless_the_request_gives_alpha() -> None:
    calibration = Calibration.from_scores(np.arange(1.0, 100.0))
    scores = np.array([1.0, 50.0, 80.0])
    by_share = decide(
        scores, calibration, alpha=None, default_alpha=0.01, contamination_threshold=60.0
    )
    assert by_share.rule == "contamination" and by_share.threshold == 60.0
    assert by_share.is_anomaly.tolist() == [False, False, True]
    by_alpha = decide(
        scores, calibration, alpha=0.6, default_alpha=0.01, contamination_threshold=60.0
    )
    assert by_alpha.rule == "alpha" and by_alpha.is_anomaly.tolist() == [False, True, True]


def test_an_unreachable_alpha_is_said_not_silent() -> None:
    calibration = Calibration.from_scores(np.arange(56.0))  # 56 rows: smallest p is 1/57
    found = decide(
        np.array([1e9]), calibration, alpha=None, default_alpha=0.01, contamination_threshold=None
    )
    assert math.isinf(found.threshold) and not found.is_anomaly.any()
    assert len(found.warnings) == 1
    assert "56 calibration rows" in found.warnings[0] and "0.01754" in found.warnings[0]
    assert smallest_alpha(56) == pytest.approx(1 / 57)


def test_predict_and_assess_agree_and_explain_from_the_same_pass() -> None:
    rows = low_rank_rows(1_000, seed=7)
    det = Detector(small_config(epochs=5)).fit(rows)
    x = rows[:50].copy()
    x[0, 2] += 100.0
    found = det.assess(x, alpha=0.05, explain=3)
    np.testing.assert_array_equal(found.is_anomaly, det.predict(x, alpha=0.05))
    np.testing.assert_allclose(found.scores, det.score(x))
    np.testing.assert_allclose(found.p_values, det.p_values(x))
    assert found.explanations is not None and found.explanations[0][0]["feature"] == "f2"
    assert found.explanations == det.explain(x, 3)
    shares = [sum(e["share"] for e in row) for row in det.explain(x, x.shape[1])]
    np.testing.assert_allclose(shares, 1.0)


def test_the_detector_s_contamination_flags_that_share_of_training_rows() -> None:
    rows = low_rank_rows(2_000, seed=8)
    config = DetectorConfig.from_dict(
        {**small_config(epochs=5).to_dict(), "calibration": {"contamination": 0.1}}
    )
    det = Detector(config).fit(rows)
    found = det.assess(rows)
    assert found.rule == "contamination"
    assert found.is_anomaly.mean() == pytest.approx(0.1, abs=0.02)
    assert det.assess(rows, alpha=0.01).rule == "alpha"


def test_the_contamination_rule_also_says_its_alpha_is_out_of_reach() -> None:
    calibration = Calibration.from_scores(np.arange(56.0))
    found = decide(
        np.array([1e9]), calibration, alpha=None, default_alpha=0.01, contamination_threshold=5.0
    )
    assert found.rule == "contamination" and found.is_anomaly.tolist() == [True]
    assert found.threshold == 5.0 and "0.01754" in found.warnings[0]


def test_assess_with_explanations_costs_the_forward_passes_of_one_score() -> None:
    rows = low_rank_rows(600, seed=9)
    det = Detector(small_config(epochs=2)).fit(rows)
    passes: list[int] = []
    for net in det.members_:
        first = next(m for m in net.modules() if isinstance(m, torch.nn.Linear))
        first.register_forward_hook(lambda *_: passes.append(1))
    det.score(rows[:40])
    one_score = len(passes)
    assert one_score > 0
    passes.clear()
    det.assess(rows[:40], alpha=0.05, explain=3)
    assert len(passes) == one_score
