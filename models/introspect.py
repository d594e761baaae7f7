"""What the hidden layers compute: per-layer statistics from one forward pass with hooks.

Every statistic is read from a layer's activations as a (rows, units) matrix. The activations are
captured by forward hooks on the modules a `Probe` names, so another layer kind only has to say
which module yields each hidden layer (`probes`); 3-D outputs (rows, channels, positions) are
read per channel, every position a row.

End of training (`layer_statistics`): per layer the width, activation, per-unit mean and std;
**fire rate** (share of rows with activation > 0) and **dead units** (fire rate 0) for the
relu family, gelu and silu; **saturation** (share of cells with tanh |a| > 0.99, sigmoid a < 0.01
or a > 0.99); mean active units per row. For the code: variance per unit and its share,
**effective dimension** (participation ratio of the code covariance, (Σλ)² / Σλ²), the largest
|correlation| between two code units and, for a variational net, KL per dimension and active
units (KL > 0.01 nats). Every epoch (`epoch_statistics`): dead share, saturation and variance
per layer, and the variance of every code unit, on a fixed sample of at most 1,024 rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from models.autoencoder import Autoencoder, LayerInfo

FIRING = frozenset({"relu", "leaky_relu", "elu", "gelu", "silu"})
"""Activations whose units fire (a > 0) or not: fire rate, dead units, active units per row."""
SATURATION = 0.99  # tanh |a| > 0.99; sigmoid a < 0.01 or a > 0.99
ACTIVE_KL = 0.01  # nats: a variational code unit whose KL exceeds this carries information
EPOCH_ROWS = 1_024  # the fixed sample the per-epoch statistics are measured on
FINAL_ROWS = 10_000  # the training sample when there are no validation rows


@dataclass(frozen=True)
class Probe:
    """Which module's output is a hidden layer's activations (its first `take` columns)."""

    info: LayerInfo
    module: nn.Module
    take: int | None = None


def probes(net: nn.Module) -> list[Probe]:
    """The hidden layers of a net and the modules that yield them (the dense Autoencoder's)."""
    if not isinstance(net, Autoencoder):
        raise TypeError(f"no probes for {type(net).__name__}: say which module yields each layer")
    infos = net.layers()
    n_enc = len(net.encoder)
    out = [Probe(infos[i], block) for i, block in enumerate(net.encoder)]
    out.append(Probe(infos[n_enc], net.to_code, net.shape.code))  # variational: the mean
    out.extend(Probe(infos[n_enc + 1 + j], block) for j, block in enumerate(net.decoder))
    return out


def as_units(t: torch.Tensor) -> torch.Tensor:
    """(rows, units) as is; (rows, channels, positions) → (rows·positions, channels)."""
    if t.ndim == 2:
        return t
    if t.ndim == 3:
        return t.transpose(1, 2).reshape(-1, t.shape[1])
    return t.reshape(t.shape[0], -1)


@contextmanager
def _captured(found: list[torch.Tensor | None], chosen: Sequence[Probe]) -> Iterator[None]:
    """Forward hooks that write each probe's output into `found` while the block runs."""

    def hook(i: int) -> Any:
        def write(_: nn.Module, __: Any, output: torch.Tensor) -> None:
            found[i] = output

        return write

    handles = [p.module.register_forward_hook(hook(i)) for i, p in enumerate(chosen)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@torch.inference_mode()
def activations(
    net: nn.Module, x: torch.Tensor, chosen: Sequence[Probe] | None = None
) -> list[torch.Tensor]:
    """Each probed layer's activations (rows, units), float64, from one forward pass in eval
    mode; the variational code layer also yields its log-variance as a last extra entry."""
    chosen = probes(net) if chosen is None else chosen
    found: list[torch.Tensor | None] = [None] * len(chosen)
    was_training = net.training
    net.eval()
    try:
        with _captured(found, chosen):
            net(x)
    finally:
        net.train(was_training)
    out: list[torch.Tensor] = []
    for probe, tensor in zip(chosen, found, strict=True):
        if tensor is None:
            raise RuntimeError(f"layer {probe.info.name} was not reached by the forward pass")
        out.append(as_units(tensor[:, : probe.take] if probe.take else tensor).double())
    return out


def _log_var(net: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    if not isinstance(net, Autoencoder) or net.arch.variant != "variational":
        return None
    with torch.inference_mode():
        was_training = net.training
        net.eval()
        _, log_var = net.encode(x)
        net.train(was_training)
    return None if log_var is None else log_var.double()


def _moments(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = a.mean(dim=0)
    return mean, ((a - mean) ** 2).mean(dim=0)  # population variance, as numpy's default


def _saturated(a: torch.Tensor, activation: str) -> torch.Tensor | None:
    if activation == "tanh":
        return a.abs() > SATURATION
    if activation == "sigmoid":
        return (a < 1.0 - SATURATION) | (a > SATURATION)
    return None


def _unit_stats(a: torch.Tensor, info: LayerInfo) -> dict[str, Any]:
    mean, var = _moments(a)
    out: dict[str, Any] = {
        "index": info.index,
        "name": info.name,
        "width": info.width,
        "activation": info.activation,
        "mean": mean.tolist(),
        "std": var.sqrt().tolist(),
        "fire_rate": None,
        "dead_units": None,
        "dead": None,
        "active_per_row": None,
        "saturation": None,
        "saturated_share": None,
    }
    if info.activation in FIRING:
        fires = a > 0
        rate = fires.double().mean(dim=0)
        dead = torch.nonzero(rate == 0).flatten().tolist()
        out |= {
            "fire_rate": rate.tolist(),
            "dead_units": len(dead),
            "dead": dead,
            "active_per_row": float(fires.sum(dim=1).double().mean()),
        }
    saturated = _saturated(a, info.activation)
    if saturated is not None:
        share = saturated.double().mean(dim=0)
        out |= {"saturation": float(share.mean()), "saturated_share": share.tolist()}
    return out


def participation_ratio(cov: torch.Tensor) -> float:
    """(Σλ)² / Σλ² of a covariance matrix, from its trace and Frobenius norm (no eigenvalues)."""
    total = float(torch.trace(cov))
    squares = float((cov * cov).sum())
    return total * total / squares if squares > 0 else 0.0


def _code_stats(code: torch.Tensor, log_var: torch.Tensor | None) -> dict[str, Any]:
    centred = code - code.mean(dim=0)
    cov = centred.T @ centred / code.shape[0]
    var = torch.diagonal(cov)
    total = float(var.sum())
    std = var.sqrt()
    live = std > 0
    corr = cov[live][:, live] / torch.outer(std[live], std[live])
    off = corr - torch.diag(torch.diagonal(corr))
    out: dict[str, Any] = {
        "variance": var.tolist(),
        "variance_share": (var / total if total > 0 else torch.zeros_like(var)).tolist(),
        "effective_dimension": participation_ratio(cov),
        "max_abs_correlation": float(off.abs().max()) if int(live.sum()) > 1 else None,
    }
    if log_var is not None:
        kl = 0.5 * (code**2 + log_var.exp() - 1.0 - log_var).mean(dim=0)
        out |= {"kl_per_dimension": kl.tolist(), "active_units": int((kl > ACTIVE_KL).sum())}
    return out


def layer_statistics(net: nn.Module, x: torch.Tensor, *, source: str) -> dict[str, Any]:
    """Every hidden layer's statistics on the rows `x` (scaled units); `source` names them."""
    chosen = probes(net)
    acts = activations(net, x, chosen)
    layers = []
    for probe, a in zip(chosen, acts, strict=True):
        stats = _unit_stats(a, probe.info)
        if probe.info.name == "code":
            stats |= _code_stats(a, _log_var(net, x))
        layers.append(stats)
    return {"rows": int(x.shape[0]), "source": source, "layers": layers}


def epoch_statistics(net: nn.Module, x: torch.Tensor) -> dict[str, Any]:
    """The cheap per-epoch subset: per layer dead share, saturation and mean unit variance; the
    variance of every code unit."""
    chosen = probes(net)
    layers: list[dict[str, Any]] = []
    code_variance: list[float] = []
    for probe, a in zip(chosen, activations(net, x, chosen), strict=True):
        var = _moments(a)[1]
        entry: dict[str, Any] = {"index": probe.info.index, "variance": float(var.mean())}
        if probe.info.activation in FIRING:
            entry["dead_share"] = float(((a > 0).sum(dim=0) == 0).double().mean())
        saturated = _saturated(a, probe.info.activation)
        if saturated is not None:
            entry["saturation"] = float(saturated.double().mean())
        if probe.info.name == "code":
            code_variance = var.tolist()
        layers.append(entry)
    return {"layers": layers, "code_variance": code_variance}


def sample_rows(n: int, limit: int, seed: int) -> np.ndarray:
    """At most `limit` of `n` row indices, seeded and sorted (all of them when n ≤ limit)."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def statistics_rows(
    val: torch.Tensor, train: torch.Tensor, *, limit: int, seed: int
) -> tuple[torch.Tensor, str]:
    """The rows statistics are measured on: the validation rows, else a seeded training sample."""
    if val.shape[0] > 0:
        rows, source = val, "validation"
    else:
        rows, source = train, "training sample"
    index = torch.from_numpy(sample_rows(rows.shape[0], limit, seed)).to(rows.device)
    return rows[index], source
