"""The bottleneck autoencoder: dense encoder → code → mirrored decoder."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from models.config import ArchitectureConfig

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


@dataclass(frozen=True)
class LayerInfo:
    """One hidden layer: its index for `embed(layer=…)`, name, width and activation."""

    index: int
    name: str
    width: int
    activation: str


class Forward(NamedTuple):
    """What one forward pass yields: the reconstruction, the code, and the KL term (variational)."""

    reconstruction: torch.Tensor
    code: torch.Tensor
    kl: torch.Tensor | None


def _block(n_in: int, n_out: int, arch: ArchitectureConfig) -> nn.Sequential:
    parts: list[nn.Module] = [nn.Linear(n_in, n_out)]
    if arch.normalization == "batch":
        parts.append(nn.BatchNorm1d(n_out))
    elif arch.normalization == "layer":
        parts.append(nn.LayerNorm(n_out))
    parts.append(_ACTIVATIONS[arch.activation]())
    if arch.dropout > 0:
        parts.append(nn.Dropout(arch.dropout))
    return nn.Sequential(*parts)


@dataclass(frozen=True)
class Shape:
    """Resolved widths: features, encoder hidden widths, code width."""

    n_features: int
    hidden: tuple[int, ...]
    code: int


class Autoencoder(nn.Module):
    """Encoder blocks → linear code (mean and log-variance when variational) → decoder blocks."""

    def __init__(self, n_features: int, arch: ArchitectureConfig) -> None:
        super().__init__()
        arch = arch.resolved(n_features)
        if not (isinstance(arch.hidden_layers, tuple) and isinstance(arch.code_size, int)):
            raise ValueError('architecture: "auto" sizes are resolved from the rows (Detector.fit)')
        self.arch = arch
        self.shape = Shape(n_features, arch.hidden_layers, arch.code_size)
        widths = (n_features, *self.shape.hidden)
        self.encoder = nn.ModuleList(_block(a, b, arch) for a, b in itertools.pairwise(widths))
        code_out = 2 * self.shape.code if arch.variant == "variational" else self.shape.code
        self.to_code = nn.Linear(widths[-1], code_out)
        back = (self.shape.code, *reversed(self.shape.hidden))
        self.decoder = nn.ModuleList(_block(a, b, arch) for a, b in itertools.pairwise(back))
        self.to_output = nn.Linear(back[-1], n_features)  # linear: scaled data is not squashed

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, F) -> code mean (B, C) and, when variational, its log-variance (B, C)."""
        h = x
        for block in self.encoder:
            h = block(h)
        out = self.to_code(h)
        if self.arch.variant != "variational":
            return out, None
        mean, log_var = out.chunk(2, dim=1)
        return mean, log_var.clamp(-20.0, 20.0)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        """(B, C) -> (B, F) in scaled units."""
        h = code
        for block in self.decoder:
            h = block(h)
        out: torch.Tensor = self.to_output(h)
        return out

    def forward(self, x: torch.Tensor) -> Forward:
        """(B, F) -> reconstruction (B, F), code (B, C), KL per row (variational, training only)."""
        mean, log_var = self.encode(x)
        if log_var is None or not self.training:
            return Forward(self.decode(mean), mean, None)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * log_var)  # reparameterisation
        kl = -0.5 * (1 + log_var - mean.pow(2) - log_var.exp()).sum(dim=1)
        return Forward(self.decode(z), mean, kl)

    def hidden(self, x: torch.Tensor, layer: int) -> torch.Tensor:
        """(B, F) -> the activations of hidden layer `layer` (see `layers()`)."""
        n_enc = len(self.encoder)
        h = x
        for block in self.encoder[: min(layer + 1, n_enc)]:
            h = block(h)
        if layer < n_enc:
            return h
        code, _ = self.encode(x)
        h = code
        for block in self.decoder[: layer - n_enc]:
            h = block(h)
        return h

    def layers(self) -> list[LayerInfo]:
        """Every hidden layer: encoder blocks, the code, decoder blocks."""
        act = self.arch.activation
        out = [LayerInfo(i, f"encoder.{i}", w, act) for i, w in enumerate(self.shape.hidden)]
        n_enc = len(out)
        out.append(LayerInfo(n_enc, "code", self.shape.code, "linear"))
        for j, w in enumerate(reversed(self.shape.hidden)):
            out.append(LayerInfo(n_enc + 1 + j, f"decoder.{j}", w, act))
        return out
