"""The trainer's fast path (no autograd) and flat parameters give autograd's weights, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models import Detector, DetectorConfig
from models.autoencoder import Autoencoder
from models.fastpath import FastPath
from models.flat import FlatParameters
from models.trainer import train


def _config(**arch: object) -> DetectorConfig:
    return DetectorConfig.from_dict(
        {
            "architecture": {"hidden_layers": [16, 8], "code_size": 3, "dropout": 0.1, **arch},
            "training": {"epochs": 3, "batch_size": 50, "learning_rate": 0.01},
        }
    )


@pytest.mark.parametrize(
    ("arch", "training"),
    [
        ({"normalization": "batch"}, {"weight_decay": 1e-4}),
        ({"normalization": "layer", "activation": "gelu", "variant": "denoising"}, {}),
        ({"activation": "tanh", "variant": "sparse"}, {"optimizer": "adamw", "weight_decay": 0.01}),
        (
            {"normalization": "batch", "activation": "elu"},
            {"optimizer": "sgd", "gradient_clip": None},
        ),
    ],
)
def test_fast_path_trains_the_same_weights_as_autograd(
    arch: dict[str, object], training: dict[str, object], normal_rows: np.ndarray
) -> None:
    cfg = _config(**arch)
    cfg = DetectorConfig.from_dict(
        {**cfg.to_dict(), "training": {**cfg.to_dict()["training"], **training}}
    )
    x = torch.from_numpy((normal_rows[:1200] - normal_rows.mean(0)) / normal_rows.std(0))
    states = []
    for fast in (False, True):
        torch.manual_seed(0)
        net = Autoencoder(x.shape[1], cfg.architecture)
        assert _fast_path_applies(net, cfg)
        result = train([net], x[:1000], x[1000:], cfg.training, fast_path=fast)
        states.append((net.state_dict(), [r.val_loss for r in result.history]))
    (slow, slow_val), (fast_state, fast_val) = states
    assert slow_val == fast_val
    for key, value in slow.items():
        assert torch.equal(value, fast_state[key]), key


def test_variational_nets_train_through_autograd(normal_rows: np.ndarray) -> None:
    cfg = _config(variant="variational")
    assert not _fast_path_applies(Autoencoder(normal_rows.shape[1], cfg.architecture), cfg)


def _fast_path_applies(net: Autoencoder, cfg: DetectorConfig) -> bool:
    flat = FlatParameters(net, cfg.training)  # the fast path writes into the flat gradients
    try:
        return FastPath.build(net) is not None
    finally:
        flat.release()


def test_trained_parameters_own_their_storage(normal_rows: np.ndarray) -> None:
    det = Detector(_config(ensemble_size=2)).fit(normal_rows)
    for net in det.members_:
        params = list(net.parameters())
        assert all(p.grad is None for p in params)
        pointers = {p.untyped_storage().data_ptr() for p in params}
        assert len(pointers) == len(params)  # no shared flat buffer left (safetensors refuses it)
