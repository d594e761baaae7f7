"""Scoring: per-feature normalised errors, explanations that add up to the score, old checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

from models import DetectorConfig, checkpoint
from models.detector import Detector


def _fit(scoring: str) -> tuple[Detector, np.ndarray]:
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(600, 1))
    x = np.hstack([rng.normal(size=(600, 1)), latent + 0.01 * rng.normal(size=(600, 5))])
    x = x.astype(np.float32)  # column 0 is noise the model cannot rebuild; 1–5 are one signal
    training = {"epochs": 30, "batch_size": 32}
    cfg = DetectorConfig.from_dict({"training": training, "calibration": {"scoring": scoring}})
    return Detector(cfg).fit(x), x


def test_feature_normalized_weights_are_one_over_typical_error() -> None:
    det, _ = _fit("feature_normalized")
    assert det.feature_weights_.shape == (1, 6)
    assert det.feature_weights_[0, 0] < det.feature_weights_[0, 1:].min()


def test_mse_is_the_mean_squared_error_of_the_reconstruction() -> None:
    det, x = _fit("mse")
    np.testing.assert_allclose(
        det.score(x[:20]), np.mean(det.feature_errors(x[:20]) ** 2, axis=1), rtol=1e-6
    )


@pytest.mark.parametrize("scoring", ["feature_normalized", "mse"])
def test_explanation_shares_are_shares_of_the_score(scoring: str) -> None:
    det, x = _fit(scoring)
    top = det.explain(x[:1], k=6)[0]
    assert sum(item["share"] for item in top) == pytest.approx(1.0)


def test_checkpoint_without_weights_loads_as_mse() -> None:
    det, x = _fit("feature_normalized")
    tensors, doc = checkpoint.load(det.to_bytes())
    tensors.pop("scoring.weights")
    del doc["config"]["calibration"]["scoring"]
    for key in ("format", "format_version", "sha256"):
        doc.pop(key)
    old = Detector.from_bytes(checkpoint.dump(tensors, doc))
    assert old.config_.calibration.scoring == "mse"
    np.testing.assert_allclose(
        old.score(x[:5]), np.mean(old.feature_errors(x[:5]) ** 2, axis=1), rtol=1e-6
    )


def test_unknown_scoring_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"^calibration\.scoring: must be one of"):
        DetectorConfig.from_dict({"calibration": {"scoring": "max"}})
