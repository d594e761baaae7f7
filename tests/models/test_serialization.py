"""A checkpoint's tensors and document describe one fitted Detector, or loading refuses it.

`test_checkpoint.py` covers the file format (digest, truncation, foreign files); here the
checkpoints are intact and signed, but what they say does not add up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from models import CheckpointError, Detector, DetectorConfig, checkpoint, serialization
from models.calibration import Calibration

from .conftest import small_config

Tensors = dict[str, torch.Tensor]
Edit = Callable[[Tensors, dict[str, Any]], None]


@pytest.fixture(scope="module")
def fitted(normal_rows: np.ndarray) -> Detector:
    data = small_config().to_dict()
    data["calibration"].update(scoring="masked", contamination=0.05)
    return Detector(DetectorConfig.from_dict(data)).fit(normal_rows[:600])


def _resigned(detector: Detector, edit: Edit) -> bytes:
    """The detector's checkpoint with `edit` applied, signed again (the digest is right)."""
    tensors, document = checkpoint.load(detector.to_bytes())
    edit(tensors, document)
    return checkpoint.dump(tensors, document)


def _drop_a_column(_t: Tensors, doc: dict[str, Any]) -> None:
    doc["columns"] = doc["columns"][:-1]


def _misshape_weights(t: Tensors, _doc: dict[str, Any]) -> None:
    t["scoring.weights"] = t["scoring.weights"][:, :-1].contiguous()


def _drop_masks(t: Tensors, _doc: dict[str, Any]) -> None:
    del t["scoring.masks"]


def _never_hide_column_0(t: Tensors, _doc: dict[str, Any]) -> None:
    t["scoring.masks"][:, 0] = 0


def _drop_a_member_weight(t: Tensors, _doc: dict[str, Any]) -> None:
    # a weight: a missing `num_batches_tracked` is one that torch fills in by itself
    del t[min(k for k in t if k.startswith("members.0.") and k.endswith(".weight"))]


def _drop_the_fit_record(_t: Tensors, doc: dict[str, Any]) -> None:
    del doc["fit"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_drop_a_column, "column names for"),
        (_misshape_weights, "scoring.weights: shape"),
        (_drop_masks, "missing for the masked scoring"),
        (_never_hide_column_0, "a column never hidden"),
        (_drop_a_member_weight, "Missing key"),
        (_drop_the_fit_record, "fit"),
    ],
)
def test_a_signed_checkpoint_that_contradicts_itself_is_refused(
    fitted: Detector, edit: Edit, message: str
) -> None:
    with pytest.raises(CheckpointError, match="does not describe a valid Detector") as caught:
        Detector.from_bytes(_resigned(fitted, edit))
    assert message in str(caught.value)


def test_every_learned_attribute_survives_the_round_trip(fitted: Detector) -> None:
    loaded = Detector.from_bytes(fitted.to_bytes())
    assert loaded.contamination_threshold_ == fitted.contamination_threshold_
    assert loaded.best_epoch_ == fitted.best_epoch_
    assert loaded.stopped_ == fitted.stopped_
    assert loaded.fit_seconds_ == fitted.fit_seconds_
    assert loaded.n_features_in_ == fitted.n_features_in_
    np.testing.assert_array_equal(loaded.scoring_masks_, fitted.scoring_masks_)
    np.testing.assert_array_equal(loaded.feature_weights_, fitted.feature_weights_)
    np.testing.assert_array_equal(loaded.calibration_.scores, fitted.calibration_.scores)
    np.testing.assert_array_equal(loaded.scaler_.center, fitted.scaler_.center)


def test_a_calibration_travels_alone_and_is_not_a_detector(fitted: Detector) -> None:
    calibration = Calibration.from_scores(np.array([3.0, 1.0, 2.0]))
    data = serialization.calibration_to_bytes(calibration)
    np.testing.assert_array_equal(
        serialization.calibration_from_bytes(data).scores, [1.0, 2.0, 3.0]
    )
    with pytest.raises(CheckpointError, match="wrong format tag"):
        Detector.from_bytes(data)
    with pytest.raises(CheckpointError, match="wrong format tag"):
        serialization.calibration_from_bytes(fitted.to_bytes())


def test_a_calibration_file_without_scores_is_refused() -> None:
    data = checkpoint.dump({"other": torch.zeros(1)}, {}, kind=serialization.CALIBRATION_KIND)
    with pytest.raises(CheckpointError, match="not a calibration"):
        serialization.calibration_from_bytes(data)
