from __future__ import annotations

import pytest

from models import DetectorConfig
from models.config import default_code_size, default_epochs, default_hidden_layers


def test_round_trip_through_dict_keeps_every_field() -> None:
    config = DetectorConfig.from_dict({"architecture": {"hidden_layers": [32, 16], "code_size": 4}})
    assert DetectorConfig.from_dict(config.to_dict()) == config


def test_missing_sections_take_defaults() -> None:
    assert DetectorConfig.from_dict({}) == DetectorConfig()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"architecture": {"activation": "swish"}}, "architecture.activation"),
        ({"architecture": {"hidden_layers": [8, 0]}}, "architecture.hidden_layers.1"),
        ({"architecture": {"hidden_layers": "8"}}, "architecture.hidden_layers"),
        ({"training": {"epochs": 0}}, "training.epochs"),
        ({"training": {"batch_size": 1.5}}, "training.batch_size"),
        ({"training": {"optimizer": "lbfgs"}}, "training.optimizer"),
        ({"training": {"colour": 1}}, "training.colour"),
        ({"calibration": {"alpha": 0.9}}, "calibration.alpha"),
        ({"preprocessing": {"scaling": "log"}}, "preprocessing.scaling"),
        ({"extra": {}}, "extra"),
    ],
)
def test_bad_values_name_their_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: "):
        DetectorConfig.from_dict(data)


@pytest.mark.parametrize("d", [1, 2, 5, 9, 32, 166, 1000])
def test_default_sizes_form_an_hourglass(d: int) -> None:
    code = default_code_size(d)
    hidden = default_hidden_layers(d, code)
    assert 1 <= code <= max(1, d)
    assert all(w >= code for w in hidden)
    assert list(hidden) == sorted(hidden, reverse=True)


def test_resolved_fills_sizes_and_keeps_given_ones() -> None:
    resolved = DetectorConfig.from_dict({"architecture": {"code_size": 5}}).resolved(20, 100)
    assert resolved.architecture.code_size == 5  # given: kept
    assert resolved.architecture.hidden_layers == (64, 32)  # 2·20 → 64, then half
    assert resolved.training.epochs == default_epochs(90, 64)  # 100 rows less 10 for calibration
    given = DetectorConfig.from_dict({"architecture": {"hidden_layers": [7]}}).resolved(20, 100)
    assert given.architecture.hidden_layers == (7,) and given.architecture.code_size == 7


@pytest.mark.parametrize(
    ("n_rows", "epochs"),
    [
        (50, 80),
        (129, 80),
        (1_000, 80),
        (2_000, 80),
        (8_000, 80),
        (20_000, 36),
        (49_097, 15),
        (2_000_000, 5),
    ],
)
def test_default_epochs_give_large_sets_ten_thousand_steps_and_small_ones_eighty_epochs(
    n_rows: int, epochs: int
) -> None:
    resolved = DetectorConfig().resolved(9, n_rows)
    assert resolved.training.epochs == epochs
    n_train = resolved.split_sizes(n_rows)[2]
    assert n_train == n_rows - round(0.1 * n_rows)
    assert default_epochs(n_train, 64) == epochs


def test_wide_short_data_trains_half_as_many_epochs() -> None:
    assert DetectorConfig().resolved(1_000, 350).training.epochs == 40  # embeddings of 350 items
    assert DetectorConfig().resolved(200, 350).training.epochs == 80
    assert default_epochs(300, 64, n_features=1_000) == 40
    assert default_epochs(300, 64) == 80


def test_given_epochs_are_kept_and_unresolved_ones_are_refused_by_the_trainer() -> None:
    assert (
        DetectorConfig.from_dict({"training": {"epochs": 3}}).resolved(9, 49_097).training.epochs
        == 3
    )
    with pytest.raises(ValueError, match="resolve the config"):
        _ = DetectorConfig().training.epoch_count
