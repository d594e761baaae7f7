"""The training loop: in-memory tensors, random permutations sliced into batches, early stopping.

It knows nothing about databases or HTTP; it reports every epoch through a callback whose True
answer stops training (that is how the service cancels a run).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from models.autoencoder import Autoencoder
from models.config import TrainingConfig
from models.errors import TrainingDiverged
from models.fastpath import FastPath
from models.flat import _ADAM_BETAS, _ADAM_EPS, _SGD_MOMENTUM, FlatParameters

EpochCallback = Callable[[int, float, float | None, float], bool]
"""`(epoch, train_loss, val_loss, seconds) -> stop`; epochs count from 1."""

EVAL_CHUNK = 65_536


@dataclass
class EpochRecord:
    """One epoch's losses (mean over the members of an ensemble) and wall-clock seconds."""

    epoch: int
    train_loss: float
    val_loss: float | None
    seconds: float


@dataclass
class TrainResult:
    """What a training produced, besides the weights it left in the members."""

    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    stopped: bool = False


@dataclass
class _Member:
    """A member's flat parameters (and optimiser state) and early-stopping state."""

    net: Autoencoder
    flat: FlatParameters
    fast: FastPath | None = None
    best_loss: float = math.inf
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    done: bool = False


def choose_device(requested: str) -> torch.device:
    """`auto` picks CUDA when it is available, else the CPU."""
    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def make_optimizer(net: nn.Module, cfg: TrainingConfig) -> torch.optim.Optimizer:
    """Adam, AdamW or SGD (momentum 0.9) with the configured rate and weight decay."""
    params = list(net.parameters())
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.learning_rate, momentum=_SGD_MOMENTUM, weight_decay=cfg.weight_decay
        )
    opt = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return opt(
        params,
        lr=cfg.learning_rate,
        betas=_ADAM_BETAS,
        eps=_ADAM_EPS,
        weight_decay=cfg.weight_decay,
        foreach=True,
    )


def batch_loss(net: Autoencoder, xb: torch.Tensor) -> torch.Tensor:
    """The training objective of the net's variant on one batch (B, F)."""
    arch = net.arch
    inputs = xb + arch.noise_std * torch.randn_like(xb) if arch.variant == "denoising" else xb
    out = net(inputs)
    loss: torch.Tensor = (out.reconstruction - xb).pow(2).mean()
    if arch.variant == "sparse":
        loss = loss + arch.sparsity_weight * out.code.abs().mean()
    if out.kl is not None:
        loss = loss + arch.beta * out.kl.mean() / xb.shape[1]  # KL per feature, like the MSE
    return loss


@torch.inference_mode()
def reconstruction_loss(net: Autoencoder, x: torch.Tensor) -> float:
    """Mean squared reconstruction error over all rows of `x`, in eval mode."""
    was_training = net.training
    net.eval()
    total = torch.zeros((), device=x.device)
    for start in range(0, x.shape[0], EVAL_CHUNK):
        xb = x[start : start + EVAL_CHUNK]
        total += (net(xb).reconstruction - xb).pow(2).sum()
    net.train(was_training)
    return float(total) / (x.shape[0] * x.shape[1])


def _train_epoch(
    m: _Member, flat: FlatParameters, x: torch.Tensor, cfg: TrainingConfig, gen: torch.Generator
) -> float:
    m.net.train()
    n = x.shape[0]
    perm = torch.randperm(n, generator=gen).to(x.device)
    shuffled = x[perm]  # one gather per epoch; the batches are contiguous slices of it
    single_row_ok = not (n >= 2 and m.net.arch.normalization == "batch")
    losses: list[torch.Tensor] = []
    sizes: list[int] = []
    for start in range(0, n, cfg.batch_size):
        xb = shuffled[start : start + cfg.batch_size]
        if xb.shape[0] < 2 and not single_row_ok:
            continue  # batch norm cannot train on a single row
        if m.fast is not None:
            loss = m.fast.step(xb)  # writes every gradient: no zeroing needed
        else:
            loss = batch_loss(m.net, xb)
            flat.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
        if cfg.gradient_clip is not None:
            flat.clip_grad_norm(cfg.gradient_clip)
        flat.step()
        losses.append(loss.detach())  # no .item(): the CPU never waits on a step
        sizes.append(xb.shape[0])
    if not losses:
        return 0.0
    weights = torch.tensor(sizes, dtype=losses[0].dtype, device=x.device)
    return float(torch.stack(losses) @ weights) / n


def _track_best(m: _Member, loss: float, epoch: int, patience: int) -> None:
    if loss < m.best_loss:
        m.best_loss, m.best_epoch = loss, epoch
        m.best_state = {k: v.detach().clone() for k, v in m.net.state_dict().items()}
    elif patience > 0 and epoch - m.best_epoch >= patience:
        m.done = True


def train(
    nets: Sequence[Autoencoder],
    x_train: torch.Tensor,
    x_val: torch.Tensor | None,
    cfg: TrainingConfig,
    callback: EpochCallback | None = None,
    *,
    fast_path: bool = True,
) -> TrainResult:
    """Train every net in lockstep, one epoch each per reported epoch; restore each best epoch.

    `fast_path=False` trains through autograd even where `FastPath` applies (same weights).
    """
    members = [
        _Member(net, FlatParameters(net, cfg), FastPath.build(net) if fast_path else None)
        for net in nets
    ]
    try:
        return _train(members, x_train, x_val, cfg, callback)
    finally:
        for m in members:
            m.flat.release()


def _train(
    members: list[_Member],
    x_train: torch.Tensor,
    x_val: torch.Tensor | None,
    cfg: TrainingConfig,
    callback: EpochCallback | None,
) -> TrainResult:
    gen = torch.Generator().manual_seed(cfg.seed)
    result = TrainResult()
    for epoch in range(1, cfg.epoch_count + 1):
        started = time.perf_counter()
        active = [m for m in members if not m.done]
        train_loss = _mean([_train_epoch(m, m.flat, x_train, cfg, gen) for m in active])
        if not math.isfinite(train_loss):
            raise TrainingDiverged(f"the training loss became {train_loss} at epoch {epoch}")
        val_loss = None
        if x_val is not None and x_val.shape[0] > 0:
            val_losses = [reconstruction_loss(m.net, x_val) for m in active]
            for m, loss in zip(active, val_losses, strict=True):
                _track_best(m, loss, epoch, cfg.early_stopping_patience)
            val_loss = _mean(val_losses)
        record = EpochRecord(epoch, train_loss, val_loss, time.perf_counter() - started)
        result.history.append(record)
        if callback is not None and callback(epoch, train_loss, val_loss, record.seconds):
            result.stopped = True
            break
        if all(m.done for m in members):
            break
    result.best_epoch = _restore_best(members, result)
    return result


def _restore_best(members: list[_Member], result: TrainResult) -> int:
    for m in members:
        if m.best_state is not None:
            m.net.load_state_dict(m.best_state)
    best = [m.best_epoch for m in members if m.best_state is not None]
    return max(best) if best else len(result.history)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)
