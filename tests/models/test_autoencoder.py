from __future__ import annotations

import pytest
import torch

from models import ArchitectureConfig, Autoencoder
from models.choices import Variant

VARIANTS = [v.value for v in Variant]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("normalization", ["none", "batch", "layer"])
def test_shapes_of_every_variant(variant: str, normalization: str) -> None:
    arch = ArchitectureConfig(
        hidden_layers=(12, 8), code_size=3, variant=variant, normalization=normalization
    )
    net = Autoencoder(5, arch).eval()
    x = torch.randn(7, 5)
    out = net(x)
    assert out.reconstruction.shape == (7, 5)
    assert out.code.shape == (7, 3)
    assert [(layer.name, layer.width) for layer in net.layers()] == [
        ("encoder.0", 12),
        ("encoder.1", 8),
        ("code", 3),
        ("decoder.0", 8),
        ("decoder.1", 12),
    ]
    for layer in net.layers():
        assert net.hidden(x, layer.index).shape == (7, layer.width)


def test_code_layer_activations_are_the_code() -> None:
    net = Autoencoder(4, ArchitectureConfig(hidden_layers=(6,), code_size=2)).eval()
    x = torch.randn(3, 4)
    assert torch.equal(net.hidden(x, 1), net.encode(x)[0])


def test_variational_code_is_the_mean_and_training_adds_kl() -> None:
    net = Autoencoder(4, ArchitectureConfig(hidden_layers=(6,), code_size=2, variant="variational"))
    x = torch.randn(3, 4)
    assert net.train()(x).kl is not None
    eval_out = net.eval()(x)
    assert eval_out.kl is None
    assert torch.equal(eval_out.code, net.encode(x)[0])


@pytest.mark.parametrize(
    "activation", ["relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid"]
)
def test_every_activation_builds_and_runs(activation: str) -> None:
    net = Autoencoder(3, ArchitectureConfig(hidden_layers=(4,), code_size=2, activation=activation))
    assert net(torch.randn(2, 3)).reconstruction.shape == (2, 3)
    assert net.layers()[0].activation == activation


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("normalization", ["none", "batch", "layer"])
@pytest.mark.parametrize("hidden", [(), (12,), (12, 8), None])
def test_parameter_count_is_that_of_the_built_nets(
    variant: str, normalization: str, hidden: tuple[int, ...] | None
) -> None:
    arch = ArchitectureConfig(
        hidden_layers=hidden, variant=variant, normalization=normalization, ensemble_size=2
    )
    built = sum(p.numel() for p in Autoencoder(5, arch).parameters())
    assert arch.parameter_count(5) == 2 * built
