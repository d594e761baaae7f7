"""Masked-cell reconstruction: training masks, scoring partitions, scores independent of the batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models import Detector, DetectorConfig
from models.masking import groups_for, keep_mask, partitions

from .conftest import low_rank_rows


def _masked_config(**training: object) -> DetectorConfig:
    return DetectorConfig.from_dict(
        {
            "architecture": {"hidden_layers": [16], "code_size": 3, "variant": "masked"},
            "training": {"epochs": 20, "batch_size": 64, **training},
            "calibration": {"scoring": "masked"},
        }
    )


def test_each_round_hides_every_cell_exactly_once() -> None:
    masks = partitions(10, groups=3, rounds=4, seed=0)
    assert masks.shape == (12, 10)
    per_round = masks.reshape(4, 3, 10).sum(axis=1)
    assert (per_round == 1).all()
    assert not np.array_equal(masks[:3], masks[3:6])  # rounds differ
    np.testing.assert_array_equal(masks, partitions(10, groups=3, rounds=4, seed=0))


def test_groups_hide_about_the_ratio_and_never_more_groups_than_columns() -> None:
    assert groups_for(0.3, 100) == 3
    assert groups_for(0.5, 100) == 2
    assert groups_for(0.1, 4) == 4


def test_training_mask_hides_about_the_ratio() -> None:
    torch.manual_seed(0)
    mask = keep_mask(torch.ones(200, 50), 0.3)
    assert set(mask.unique().tolist()) == {0.0, 1.0}
    assert 0.27 < 1 - mask.mean().item() < 0.33


def test_a_rows_masked_score_does_not_depend_on_the_other_rows() -> None:
    x = low_rank_rows(600)
    det = Detector(_masked_config()).fit(x)
    together = det.score(x[:50])
    alone = np.array([det.score(x[i : i + 1])[0] for i in range(5)])
    np.testing.assert_allclose(alone, together[:5], rtol=1e-5)


def test_a_cell_that_does_not_fit_its_row_scores_higher_than_normal_rows() -> None:
    x = low_rank_rows(1000)
    det = Detector(_masked_config(epochs=40)).fit(x)
    odd = x[:20].copy()
    low, middle, high = np.quantile(x[:, 3], [0.01, 0.5, 0.99])
    # A value the column often has, but the opposite of what the row's other cells imply.
    odd[:, 3] = np.where(odd[:, 3] < middle, high, low)
    assert np.median(det.score(odd)) > np.quantile(det.score(x[40:]), 0.9)


def test_explanations_name_the_cell_that_does_not_fit() -> None:
    x = low_rank_rows(1000)
    det = Detector(_masked_config(epochs=40)).fit(x)
    odd = x[:1].copy()
    odd[0, 5] += 8 * x[:, 5].std()
    top = det.explain(odd, k=8)[0]
    assert top[0]["feature"] == "f5"
    assert sum(item["share"] for item in top) == pytest.approx(1.0)


def test_masked_detector_round_trips_bit_for_bit() -> None:
    x = low_rank_rows(400)
    det = Detector(_masked_config(epochs=3)).fit(x)
    back = Detector.from_bytes(det.to_bytes())
    assert back.scoring_masks_ is not None and det.scoring_masks_ is not None
    np.testing.assert_array_equal(back.scoring_masks_, det.scoring_masks_)
    np.testing.assert_array_equal(back.score(x[:30]), det.score(x[:30]))
    np.testing.assert_array_equal(back.p_values(x[:30]), det.p_values(x[:30]))
