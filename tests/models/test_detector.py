from __future__ import annotations

import numpy as np
import pytest

from models import Detector, DetectorConfig, InvalidInput, TrainingDiverged

from .conftest import low_rank_rows, small_config


def test_fit_is_deterministic_under_a_seed(normal_rows: np.ndarray) -> None:
    a = Detector(small_config(seed=3)).fit(normal_rows)
    b = Detector(small_config(seed=3)).fit(normal_rows)
    c = Detector(small_config(seed=4)).fit(normal_rows)
    np.testing.assert_array_equal(a.score(normal_rows), b.score(normal_rows))
    assert not np.array_equal(a.score(normal_rows), c.score(normal_rows))


@pytest.mark.parametrize("variant", ["plain", "denoising", "sparse", "variational"])
def test_every_variant_fits_and_answers(variant: str, normal_rows: np.ndarray) -> None:
    config = small_config(epochs=2)
    config = DetectorConfig.from_dict(
        {
            **config.to_dict(),
            "architecture": {**config.to_dict()["architecture"], "variant": variant},
        }
    )
    det = Detector(config).fit(normal_rows[:300])
    x = normal_rows[:10]
    assert det.embed(x).shape == (10, 3)
    assert det.reconstruct(x).shape == (10, 8)
    assert det.score(x).shape == (10,)
    assert det.feature_errors(x).shape == (10, 8)
    assert ((det.p_values(x) > 0) & (det.p_values(x) <= 1)).all()
    assert [layer.width for layer in det.layers()] == [16, 3, 16]
    assert det.embed(x, layer=0).shape == (10, 16)


def test_early_stopping_stops_and_restores_the_best_epoch(normal_rows: np.ndarray) -> None:
    # A learning rate this high makes validation loss bounce: the best epoch comes early.
    config = small_config(epochs=200, early_stopping_patience=3, learning_rate=0.05)
    det = Detector(config).fit(normal_rows)
    epochs_run = len(det.history_)
    assert epochs_run < 200
    assert epochs_run - det.best_epoch_ == 3
    val_losses = [r.val_loss for r in det.history_]
    assert det.val_loss_ == min(val_losses)
    # The restored weights give the best epoch's validation loss, not the last epoch's.
    assert det.val_loss_ < val_losses[-1]


def test_callback_sees_every_epoch_and_can_stop_training(normal_rows: np.ndarray) -> None:
    seen: list[tuple[int, float, float | None, float]] = []

    def callback(epoch: int, train: float, val: float | None, seconds: float) -> bool:
        seen.append((epoch, train, val, seconds))
        return epoch == 3

    det = Detector(small_config(epochs=50)).fit(normal_rows, callback=callback)
    assert [s[0] for s in seen] == [1, 2, 3]
    assert det.stopped_ is True
    assert all(s[2] is not None and s[3] > 0 for s in seen)


def test_planted_outliers_score_above_inliers() -> None:
    rows = low_rank_rows(3_000, seed=5)
    outliers = low_rank_rows(30, seed=6)
    outliers[:, :4] = outliers[:, 4:][:, ::-1]  # break the correlation structure, keep the ranges
    det = Detector(small_config(epochs=20)).fit(rows[:2_500])
    inlier_scores = det.score(rows[2_500:])
    outlier_scores = det.score(outliers)
    assert np.median(outlier_scores) > np.quantile(inlier_scores, 0.99)
    assert det.predict(outliers, alpha=0.05).mean() > 0.9


@pytest.mark.parametrize("alpha", [0.01, 0.05])
def test_share_flagged_on_held_out_normal_rows_is_about_alpha(alpha: float) -> None:
    rows = low_rank_rows(40_000, seed=7)
    config = DetectorConfig.from_dict(
        {**small_config(epochs=5).to_dict(), "calibration": {"fraction": 0.2, "alpha": alpha}}
    )
    det = Detector(config).fit(rows[:15_000])
    share = float(det.predict(rows[15_000:]).mean())
    assert alpha / 2 <= share <= 2 * alpha


def test_recalibrate_replaces_the_calibration_without_retraining(normal_rows: np.ndarray) -> None:
    det = Detector(small_config()).fit(normal_rows)
    before = det.score(normal_rows[:5])
    det.recalibrate(normal_rows[:500] * 3.0)  # a much looser notion of normal
    np.testing.assert_array_equal(det.score(normal_rows[:5]), before)
    assert det.calibration_.n == 500
    assert det.predict(normal_rows, alpha=0.01).mean() < 0.005


def test_contamination_threshold_flags_that_share_of_training_rows(normal_rows: np.ndarray) -> None:
    config = DetectorConfig.from_dict(
        {**small_config().to_dict(), "calibration": {"contamination": 0.1}}
    )
    det = Detector(config).fit(normal_rows)
    assert 0.05 < det.predict(normal_rows).mean() < 0.15


def test_explanations_name_features_and_shares_sum_to_one(normal_rows: np.ndarray) -> None:
    det = Detector(small_config()).fit(normal_rows, columns=[f"c{i}" for i in range(8)])
    row = normal_rows[:1].copy()
    row[0, 5] += 1_000.0
    top = det.explain(row, k=8)[0]
    assert top[0]["feature"] == "c5"
    assert top[0]["error"] > 0
    assert sum(item["share"] for item in top) == pytest.approx(1.0)


def test_nan_input_names_row_and_column(normal_rows: np.ndarray) -> None:
    rows = normal_rows[:50].copy()
    rows[17, 2] = np.nan
    with pytest.raises(InvalidInput, match=r"row 17, column 'c2': value is NaN") as info:
        Detector(small_config()).fit(rows, columns=[f"c{i}" for i in range(8)])
    assert (info.value.row, info.value.column) == (17, 2)


def test_inference_rejects_wrong_width_and_infinity(normal_rows: np.ndarray) -> None:
    det = Detector(small_config()).fit(normal_rows)
    with pytest.raises(InvalidInput, match="the model expects 8"):
        det.score(normal_rows[:3, :7])
    bad = normal_rows[:3].copy()
    bad[1, 0] = np.inf
    with pytest.raises(InvalidInput, match=r"row 1, column 'f0': value is infinite"):
        det.embed(bad)


def test_too_few_rows_is_a_clear_error() -> None:
    with pytest.raises(InvalidInput, match="too few"):
        Detector(small_config()).fit(np.ones((2, 2)))


def test_non_finite_loss_is_an_error_not_nan_weights(normal_rows: np.ndarray) -> None:
    data = small_config(
        learning_rate=10.0, optimizer="sgd", epochs=30, gradient_clip=None
    ).to_dict()
    data["preprocessing"]["scaling"] = "none"  # unscaled, huge values: SGD blows up
    with pytest.raises(TrainingDiverged, match="epoch"):
        Detector(DetectorConfig.from_dict(data)).fit(normal_rows * 1e6)
