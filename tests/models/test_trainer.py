"""The one epoch loop: steps, validation, early stopping and the stop rule, as callables."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models import ArchitectureConfig, Detector, DetectorConfig, TrainingConfig, TrainingDiverged
from models.autoencoder import Autoencoder
from models.trainer import EpochRecord, Member, run_epochs, stop_by_callback


def _members(n: int, losses: list[float] | None = None) -> list[Member]:
    nets = [Autoencoder(4, ArchitectureConfig(hidden_layers=(4,), code_size=2)) for _ in range(n)]
    steps = iter(losses or [])
    return [Member(net, lambda _gen: next(steps, 1.0)) for net in nets]


def test_validation_tracks_each_member_s_best_epoch_and_patience_stops_it() -> None:
    cfg = TrainingConfig(epochs=50, early_stopping_patience=3)
    val = iter([5.0, 4.0, 3.0, 3.5, 3.6, 3.7, 3.8, 9.0])  # best at epoch 3
    result = run_epochs(_members(1), cfg, validate=lambda nets: [next(val)], stop=lambda _r: False)
    assert len(result.history) == 6  # three epochs without improvement after the best
    assert result.best_epoch == 3 and not result.stopped
    assert [r.val_loss for r in result.history] == [5.0, 4.0, 3.0, 3.5, 3.6, 3.7]


def test_the_stop_rule_sees_every_epoch_and_stops_at_once() -> None:
    seen: list[EpochRecord] = []

    def stop(record: EpochRecord) -> bool:
        seen.append(record)
        return record.epoch == 4

    result = run_epochs(_members(2), TrainingConfig(epochs=10), validate=None, stop=stop)
    assert [r.epoch for r in seen] == [1, 2, 3, 4] and result.stopped
    assert result.best_epoch == 4  # no validation: the weights are the last epoch's


def test_the_train_loss_is_the_members_mean_and_must_stay_finite() -> None:
    result = run_epochs(
        _members(2, [1.0, 3.0]), TrainingConfig(epochs=1), validate=None, stop=lambda _r: False
    )
    assert result.history[0].train_loss == 2.0
    with pytest.raises(TrainingDiverged, match="epoch 1"):
        run_epochs(
            _members(1, [float("nan")]),
            TrainingConfig(epochs=3),
            validate=None,
            stop=lambda _r: False,
        )


def test_a_callback_becomes_a_stop_rule() -> None:
    calls: list[tuple[int, float, float | None, float]] = []
    rule = stop_by_callback(lambda *args: calls.append(args) or args[0] >= 2)
    assert not rule(EpochRecord(1, 0.5, None, 0.1))
    assert rule(EpochRecord(2, 0.4, 0.3, 0.1))
    assert calls == [(1, 0.5, None, 0.1), (2, 0.4, 0.3, 0.1)]
    assert not stop_by_callback(None)(EpochRecord(1, 0.5, None, 0.1))


def test_trained_parameters_own_their_storage(normal_rows: np.ndarray) -> None:
    config = DetectorConfig.from_dict(
        {
            "architecture": {"hidden_layers": [16, 8], "code_size": 3, "ensemble_size": 2},
            "training": {"epochs": 3, "batch_size": 50},
        }
    )
    det = Detector(config).fit(normal_rows)
    for net in det.members_:
        params = list(net.parameters())
        assert all(p.grad is None for p in params)
        pointers = {p.untyped_storage().data_ptr() for p in params}
        assert len(pointers) == len(params)  # no shared flat buffer left (safetensors refuses it)
        assert not any(torch.is_inference(p) for p in params)
