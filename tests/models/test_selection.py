"""models/selection.py against scikit-learn (bench extra) and Optuna's pruner (sweep extra)."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from models.selection import asha_promotes, average_precision, is_rung, knee, roc_auc


@pytest.mark.parametrize("seed", range(5))
def test_label_metrics_equal_scikit_learns(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.random(300) < 0.2
    scores = np.round(rng.normal(size=300) + labels, 1)  # many ties
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert average_precision(labels, scores) == pytest.approx(
        average_precision_score(labels, scores), abs=1e-12
    )


def test_rungs_are_powers_of_eta() -> None:
    assert [e for e in range(1, 100) if is_rung(e)] == [1, 3, 9, 27, 81]


def test_asha_promotes_as_optunas_successive_halving() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = np.random.default_rng(0)
    pruner = optuna.pruners.SuccessiveHalvingPruner(
        min_resource=1, reduction_factor=3, min_early_stopping_rate=0
    )
    study = optuna.create_study(pruner=pruner)
    for _ in range(40):
        trial = study.ask()
        value = float(rng.normal())
        trial.report(value, 1)
        competing = [
            t.intermediate_values[1]
            for t in study.get_trials(deepcopy=False)
            if 1 in t.intermediate_values
        ]
        assert asha_promotes(value, competing) == (not trial.should_prune())
        study.tell(trial, value)


def test_the_knee_is_the_smallest_config_with_most_of_the_gain() -> None:
    losses = [1.0, 0.5, 0.25, 0.2, 0.19]
    sizes = [10, 20, 40, 80, 160]
    assert knee(losses, sizes) == 2  # 1 − 0.8 · 0.81 = 0.352: the 40-parameter config
    assert knee([0.3, 0.3], [5, 3]) == 1
