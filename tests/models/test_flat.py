"""The flat-parameter optimiser gives `torch.optim`'s weights (+ `clip_grad_norm_`), bit for bit."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from models import TrainingConfig
from models.flat import FlatParameters, make_optimizer


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3), nn.Linear(3, 6))


def _steps(net: nn.Module, step: object, zero: object, clip: object, x: torch.Tensor) -> None:
    for start in range(0, x.shape[0], 32):
        xb = x[start : start + 32]
        zero()  # type: ignore[operator]
        (net(xb) - xb).pow(2).mean().backward()
        clip()  # type: ignore[operator]
        step()  # type: ignore[operator]


@pytest.mark.parametrize(
    "settings",
    [
        {"optimizer": "adam"},
        {"optimizer": "adam", "weight_decay": 0.01},
        {"optimizer": "adamw", "weight_decay": 0.01},
        {"optimizer": "sgd", "learning_rate": 0.01},
        {"optimizer": "sgd", "learning_rate": 0.01, "weight_decay": 0.001},
        {"optimizer": "adam", "gradient_clip": 0.05},
        {"optimizer": "sgd", "learning_rate": 0.05, "gradient_clip": 0.05},
        {"optimizer": "adamw", "weight_decay": 0.1, "gradient_clip": None},
    ],
)
def test_flat_steps_equal_torch_optim(settings: dict[str, object]) -> None:
    cfg = TrainingConfig(**{"epochs": 1, **settings})  # type: ignore[arg-type]
    x = torch.randn(256, 6, generator=torch.Generator().manual_seed(1))
    plain, flat_net = _net(), _net()
    optimizer = make_optimizer(plain, cfg)
    max_norm = cfg.gradient_clip

    def clip_plain() -> None:
        if max_norm is not None:
            nn.utils.clip_grad_norm_(plain.parameters(), max_norm)

    _steps(plain, optimizer.step, optimizer.zero_grad, clip_plain, x)
    flat = FlatParameters(flat_net, cfg)

    def clip_flat() -> None:
        if max_norm is not None:
            flat.clip_grad_norm(max_norm)

    _steps(flat_net, flat.step, flat.zero_grad, clip_flat, x)
    flat.release()
    for (name, want), got in zip(
        plain.state_dict().items(), flat_net.state_dict().values(), strict=True
    ):
        assert torch.equal(want, got), name


def test_release_gives_each_parameter_its_own_storage() -> None:
    net = _net()
    flat = FlatParameters(net, TrainingConfig(epochs=1))
    assert len({p.untyped_storage().data_ptr() for p in net.parameters()}) == 1
    flat.release()
    params = list(net.parameters())
    assert all(p.grad is None for p in params)
    assert len({p.untyped_storage().data_ptr() for p in params}) == len(params)
