"""Inference use cases: rows in the model's order, the engine's errors as 422s naming the cell."""

from __future__ import annotations

import re

import numpy as np
import pytest

from models import Detector, DetectorConfig, InvalidInput
from service.domain import inference
from service.domain.lookup import Target
from service.errors import BadRows, TooManyRows


@pytest.fixture(scope="module")
def target() -> Target:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    config = DetectorConfig.from_dict(
        {
            "architecture": {"hidden_layers": [8], "code_size": 2, "dropout": 0.0},
            "training": {"epochs": 2, "device": "cpu"},
        }
    )
    detector = Detector(config).fit(x, columns=["a", "b", "c"])
    return Target("m", 1, detector, ["a", "b", "c"])


def test_records_and_instances_give_the_same_rows(target: Target) -> None:
    by_records = inference.Rows(records=[{"c": 3, "a": 1, "b": 2}])
    by_instances = inference.Rows(instances=[[1, 2, 3]])
    for rows in (by_records, by_instances):
        assert inference.rows_for(target, rows, max_rows=10).tolist() == [[1, 2, 3]]


def test_more_rows_than_the_cap_are_refused(target: Target) -> None:
    with pytest.raises(TooManyRows, match="3 rows sent; at most 2"):
        inference.rows_for(target, inference.Rows(instances=[[1, 2, 3]] * 3), max_rows=2)


def test_a_row_of_another_width_is_refused_naming_the_field(target: Target) -> None:
    with pytest.raises(BadRows, match=r"instances: row 0 .* has 2 values"):
        inference.rows_for(target, inference.Rows(instances=[[1, 2]]), max_rows=10)


def test_the_engine_s_invalid_input_becomes_a_422_at_its_row_and_column() -> None:
    def engine(_x: object) -> None:
        raise InvalidInput("row 4, column 'b': value is NaN", row=4, column=1)

    with pytest.raises(BadRows) as caught:
        inference.engine_call(engine, None)
    assert caught.value.detail == "row 4, column 'b': value is NaN"
    assert caught.value.errors[0]["loc"] == ["body", 4, 1]


def test_an_unknown_layer_is_refused_with_the_layers_there_are(target: Target) -> None:
    indices = [info.index for info in target.detector.layers()]
    x = np.zeros((1, 3))
    assert inference.embed(target, x, layer=indices[-1]).shape[0] == 1
    with pytest.raises(BadRows, match=re.escape(f"layer: must be one of {indices}")):
        inference.embed(target, x, layer=max(indices) + 1)


def test_anomalies_are_the_detector_s_own_decision(target: Target) -> None:
    x = np.array([[0.0, 0.0, 0.0], [9.0, -9.0, 9.0]])
    found = inference.anomalies(target, x, alpha=0.2, explain=5)
    expected = target.detector.assess(x, alpha=0.2, explain=3)
    np.testing.assert_array_equal(found.scores, expected.scores)
    np.testing.assert_array_equal(found.is_anomaly, expected.is_anomaly)
    assert found.rule == "alpha" and found.explanations is not None
    assert [len(row) for row in found.explanations] == [3, 3]  # explain is capped at the width
