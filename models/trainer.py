"""The training loop: one loop for one process and for DDP, with the step, the validation and the
stop decision passed in (minGPT's callbacks are the model).

`run_epochs` knows nothing about how a member takes its steps, where validation rows live or who
decides to stop: `train` (this module) and `models.distributed.train_distributed` hand those in.
It knows nothing about databases or HTTP either: it reports every epoch through a callback whose
True answer stops training (that is how the service cancels a run).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import torch

from models.autoencoder import Autoencoder
from models.config import TrainingConfig
from models.errors import TrainingDiverged
from models.fastpath import FastPath
from models.flat import FlatParameters
from models.objective import batch_loss, reconstruction_loss

EpochCallback = Callable[[int, float, float | None, float], bool]
"""`(epoch, train_loss, val_loss, seconds) -> stop`; epochs count from 1."""

EpochStep = Callable[[torch.Generator], float]
"""Train one member for one epoch (permutations drawn from the generator); its mean loss."""

Validate = Callable[[Sequence[Autoencoder]], list[float]]
"""Each net's validation loss, in order."""

StopRule = Callable[["EpochRecord"], bool]
"""After each epoch: True stops training now (a cancel, a shutdown, a stopping rule)."""

Trainer = Callable[
    [
        Sequence[Autoencoder],
        torch.Tensor,
        torch.Tensor | None,
        TrainingConfig,
        "EpochCallback | None",
    ],
    "TrainResult",
]
"""`(nets, x_train, x_val, cfg, callback) -> result`: `train` here, or `train_distributed`."""


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
class Member:
    """One net in training: how it takes an epoch, and its early-stopping state."""

    net: Autoencoder
    step: EpochStep
    best_loss: float = math.inf
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    done: bool = False


def choose_device(requested: str) -> torch.device:
    """`auto` picks CUDA when it is available, else the CPU."""
    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def run_epochs(
    members: Sequence[Member],
    cfg: TrainingConfig,
    *,
    validate: Validate | None,
    stop: StopRule,
) -> TrainResult:
    """Train every member in lockstep, one epoch each per reported epoch; restore each best epoch."""
    gen = torch.Generator().manual_seed(cfg.seed)
    result = TrainResult()
    for epoch in range(1, cfg.epoch_count + 1):
        started = time.perf_counter()
        active = [m for m in members if not m.done]
        train_loss = _mean([m.step(gen) for m in active])
        if not math.isfinite(train_loss):
            raise TrainingDiverged(f"the training loss became {train_loss} at epoch {epoch}")
        val_loss = None
        if validate is not None:
            val_losses = validate([m.net for m in active])
            for m, loss in zip(active, val_losses, strict=True):
                _track_best(m, loss, epoch, cfg.early_stopping_patience)
            val_loss = _mean(val_losses)
        record = EpochRecord(epoch, train_loss, val_loss, time.perf_counter() - started)
        result.history.append(record)
        if stop(record):
            result.stopped = True
            break
        if all(m.done for m in members):
            break
    result.best_epoch = _restore_best(members, len(result.history))
    return result


def stop_by_callback(callback: EpochCallback | None) -> StopRule:
    """The stop rule of a plain epoch callback (none: never stop early)."""

    def stop(record: EpochRecord) -> bool:
        if callback is None:
            return False
        return bool(callback(record.epoch, record.train_loss, record.val_loss, record.seconds))

    return stop


def train(
    nets: Sequence[Autoencoder],
    x_train: torch.Tensor,
    x_val: torch.Tensor | None,
    cfg: TrainingConfig,
    callback: EpochCallback | None = None,
    *,
    fast_path: bool = True,
) -> TrainResult:
    """Train the nets in this process: flat parameters, and the fast path where it applies.

    `fast_path=False` trains through autograd even where `FastPath` applies (same weights).
    """
    flats = [FlatParameters(net, cfg) for net in nets]  # before FastPath: it writes their grads
    try:
        members = [
            Member(net, partial(_train_epoch, net, flat, _fast(net, fast_path), x_train, cfg))
            for net, flat in zip(nets, flats, strict=True)
        ]
        return run_epochs(
            members, cfg, validate=_validation(x_val), stop=stop_by_callback(callback)
        )
    finally:
        for flat in flats:
            flat.release()


def _fast(net: Autoencoder, enabled: bool) -> FastPath | None:
    return FastPath.build(net) if enabled else None


def _validation(x_val: torch.Tensor | None) -> Validate | None:
    if x_val is None or x_val.shape[0] == 0:
        return None
    rows = x_val
    return lambda nets: [reconstruction_loss(net, rows) for net in nets]


def _train_epoch(
    net: Autoencoder,
    flat: FlatParameters,
    fast: FastPath | None,
    x: torch.Tensor,
    cfg: TrainingConfig,
    gen: torch.Generator,
) -> float:
    net.train()
    n = x.shape[0]
    perm = torch.randperm(n, generator=gen).to(x.device)
    shuffled = x[perm]  # one gather per epoch; the batches are contiguous slices of it
    single_row_ok = not (n >= 2 and net.arch.normalization == "batch")
    losses: list[torch.Tensor] = []
    sizes: list[int] = []
    for start in range(0, n, cfg.batch_size):
        xb = shuffled[start : start + cfg.batch_size]
        if xb.shape[0] < 2 and not single_row_ok:
            continue  # batch norm cannot train on a single row
        if fast is not None:
            loss = fast.step(xb)  # writes every gradient: no zeroing needed
        else:
            loss = batch_loss(net, xb)
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


def _track_best(m: Member, loss: float, epoch: int, patience: int) -> None:
    if loss < m.best_loss:
        m.best_loss, m.best_epoch = loss, epoch
        m.best_state = {k: v.detach().clone() for k, v in m.net.state_dict().items()}
    elif patience > 0 and epoch - m.best_epoch >= patience:
        m.done = True


def _restore_best(members: Sequence[Member], n_epochs: int) -> int:
    for m in members:
        if m.best_state is not None:
            m.net.load_state_dict(m.best_state)
    best = [m.best_epoch for m in members if m.best_state is not None]
    return max(best) if best else n_epochs


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)
