"""A Detector's rows are cut into calibration, validation and training rows that never overlap:
the p-values are only honest if the calibration rows were never trained on."""

from __future__ import annotations

import numpy as np
import pytest

from models import DetectorConfig
from models.errors import InvalidInput
from models.split import split_rows


def _config(calibration: float, validation: float) -> DetectorConfig:
    return DetectorConfig.from_dict(
        {
            "calibration": {"fraction": calibration},
            "training": {"validation_fraction": validation},
        }
    )


@pytest.mark.parametrize(("calibration", "validation"), [(0.1, 0.0), (0.2, 0.1), (0.5, 0.5)])
def test_the_parts_are_disjoint_and_cover_every_row(calibration: float, validation: float) -> None:
    n = 1_001
    split = split_rows(n, _config(calibration, validation), seed=3)
    parts = [split.train, split.val, split.calibration]
    assert sum(len(p) for p in parts) == n
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(n))
    assert len(split.calibration) == pytest.approx(calibration * n, abs=1)
    assert len(split.val) == pytest.approx(validation * (n - len(split.calibration)), abs=1)
    assert set(split.fit) == set(split.train) | set(split.val)


def test_the_seed_decides_the_split() -> None:
    config = _config(0.2, 0.1)
    one, again = split_rows(500, config, seed=1), split_rows(500, config, seed=1)
    other = split_rows(500, config, seed=2)
    assert np.array_equal(one.calibration, again.calibration)
    assert not np.array_equal(one.calibration, other.calibration)


def test_too_few_rows_to_train_on_are_refused_with_the_counts() -> None:
    with pytest.raises(InvalidInput, match="3 rows are too few: calibration takes 2"):
        split_rows(3, _config(0.5, 0.5), seed=0)
    assert len(split_rows(4, _config(0.5, 0.0), seed=0).train) == 2
