"""The fast path (no autograd) trains the same weights as autograd, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models import DetectorConfig
from models.autoencoder import Autoencoder
from models.choices import Activation, Normalization
from models.fastpath import FastPath
from models.flat import FlatParameters
from models.trainer import train


def _config(arch: dict[str, object], training: dict[str, object]) -> DetectorConfig:
    return DetectorConfig.from_dict(
        {
            "architecture": {"hidden_layers": [16, 8], "code_size": 3, "dropout": 0.1, **arch},
            "training": {"epochs": 3, "batch_size": 50, "learning_rate": 0.01, **training},
        }
    )


def _weights_and_losses(
    cfg: DetectorConfig, x: torch.Tensor, *, fast: bool
) -> tuple[dict[str, torch.Tensor], list[float | None]]:
    torch.manual_seed(0)
    net = Autoencoder(x.shape[1], cfg.architecture)
    assert _fast_path_applies(net, cfg)
    result = train([net], x[:1000], x[1000:], cfg.training, fast_path=fast)
    return net.state_dict(), [r.val_loss for r in result.history]


def _assert_same_training(cfg: DetectorConfig, normal_rows: np.ndarray) -> None:
    x = torch.from_numpy((normal_rows[:1200] - normal_rows.mean(0)) / normal_rows.std(0))
    slow, slow_val = _weights_and_losses(cfg, x, fast=False)
    quick, quick_val = _weights_and_losses(cfg, x, fast=True)
    assert slow_val == quick_val
    for key, value in slow.items():
        assert torch.equal(value, quick[key]), key


@pytest.mark.parametrize("activation", [a.value for a in Activation])
@pytest.mark.parametrize("normalization", [n.value for n in Normalization])
def test_every_activation_and_normalization_trains_autograd_s_weights(
    activation: str, normalization: str, normal_rows: np.ndarray
) -> None:
    cfg = _config({"activation": activation, "normalization": normalization}, {})
    _assert_same_training(cfg, normal_rows)


@pytest.mark.parametrize(
    ("arch", "training"),
    [
        ({"normalization": "batch", "variant": "plain"}, {"weight_decay": 1e-4}),
        ({"normalization": "batch", "variant": "masked", "mask_ratio": 0.4}, {}),
        ({"normalization": "layer", "activation": "gelu", "variant": "denoising"}, {}),
        ({"activation": "tanh", "variant": "sparse"}, {"optimizer": "adamw", "weight_decay": 0.01}),
        (
            {"normalization": "batch", "activation": "elu"},
            {"optimizer": "sgd", "gradient_clip": None},
        ),
    ],
)
def test_variants_and_optimizers_train_autograd_s_weights(
    arch: dict[str, object], training: dict[str, object], normal_rows: np.ndarray
) -> None:
    _assert_same_training(_config(arch, training), normal_rows)


def test_variational_nets_train_through_autograd(normal_rows: np.ndarray) -> None:
    cfg = _config({"variant": "variational"}, {})
    assert not _fast_path_applies(Autoencoder(normal_rows.shape[1], cfg.architecture), cfg)


def _fast_path_applies(net: Autoencoder, cfg: DetectorConfig) -> bool:
    flat = FlatParameters(net, cfg.training)  # the fast path writes into the flat gradients
    try:
        return FastPath.build(net) is not None
    finally:
        flat.release()
