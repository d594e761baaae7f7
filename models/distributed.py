"""Training one Detector on several processes with torch.distributed DDP (gloo on CPU, nccl on CUDA).

Every rank holds all rows. Each epoch every rank draws the same seeded permutation, takes its shard
of it and a 1/world share of every global batch of `batch_size` rows; DDP averages the gradients, so
a step sees what a one-process step on the whole batch would. Losses are all-reduced, so early
stopping is decided identically on every rank; rank 0 reports epochs through the callback and
broadcasts its stop answer. The caller initialises the process group (the service's torchrun
entry point does); nothing here reads the environment.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from models.autoencoder import Autoencoder
from models.config import ArchitectureConfig, TrainingConfig
from models.detector import Detector, _column_names
from models.errors import TrainingDiverged
from models.preprocessing import Scaler
from models.split import split_rows
from models.trainer import (
    EpochCallback,
    EpochRecord,
    TrainResult,
    batch_loss,
    choose_device,
    make_optimizer,
    reconstruction_loss,
)
from models.validation import as_rows


class _Replica(DistributedDataParallel):
    """DDP around an Autoencoder that still answers `.arch`, so `batch_loss` can drive it."""

    @property
    def arch(self) -> ArchitectureConfig:
        return cast(Autoencoder, self.module).arch


@dataclass
class _Member:
    """One net, its DDP replica, optimiser and early-stopping state (the same on every rank)."""

    net: Autoencoder
    replica: _Replica
    optimizer: torch.optim.Optimizer
    best_loss: float = math.inf
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    done: bool = False


def fit_distributed(
    detector: Detector,
    x: object,
    columns: Sequence[str] | None = None,
    callback: EpochCallback | None = None,
    *,
    device: torch.device | None = None,
) -> Detector:
    """`Detector.fit` across the ranks of the initialised process group; all ranks end equal."""
    _require_process_group()
    started = time.perf_counter()
    det = detector
    rows = as_rows(x, columns=columns)
    det.columns_ = _column_names(columns, rows.shape[1])
    det.n_features_in_ = rows.shape[1]
    det.config_ = det.config.resolved(rows.shape[1], rows.shape[0])
    split = split_rows(rows.shape[0], det.config_, seed=det.config_.training.seed)
    det.scaler_ = Scaler.fit(rows[split.fit], det.config_.preprocessing.scaling)
    det.device_ = device or choose_device(det.config_.training.device)
    z = torch.from_numpy(det.scaler_.transform(rows)).to(det.device_)
    det.members_ = det._build_members()
    result = train_distributed(
        det.members_, z[split.train], z[split.val], det.config_.training, callback
    )
    det._set_fit_state(result.history, result.best_epoch, result.stopped)
    det._fit_scoring(z, split)
    det.fit_seconds_ = time.perf_counter() - started
    return det


def train_distributed(
    nets: Sequence[Autoencoder],
    x_train: torch.Tensor,
    x_val: torch.Tensor | None,
    cfg: TrainingConfig,
    callback: EpochCallback | None = None,
) -> TrainResult:
    """Train every net in lockstep on this rank's shards; restore each net's best epoch."""
    rank, world = _require_process_group()
    members = [_member(net, cfg) for net in nets]
    gen = torch.Generator().manual_seed(cfg.seed)
    has_val = x_val is not None and x_val.shape[0] > 0
    result = TrainResult()
    for epoch in range(1, cfg.epoch_count + 1):
        started = time.perf_counter()
        active = [m for m in members if not m.done]
        train_loss = _mean([_train_epoch(m, x_train, cfg, gen, rank, world) for m in active])
        if not math.isfinite(train_loss):
            raise TrainingDiverged(f"the training loss became {train_loss} at epoch {epoch}")
        val_loss = None
        if has_val:
            assert x_val is not None
            val_losses = _val_losses(active, x_val, rank, world)
            for m, loss in zip(active, val_losses, strict=True):
                _track_best(m, loss, epoch, cfg.early_stopping_patience)
            val_loss = _mean(val_losses)
        record = EpochRecord(epoch, train_loss, val_loss, time.perf_counter() - started)
        result.history.append(record)
        if _stop_requested(callback, record, rank, x_train.device):
            result.stopped = True
            break
        if all(m.done for m in members):
            break
    result.best_epoch = _restore_best(members, len(result.history))
    return result


def _require_process_group() -> tuple[int, int]:
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError("distributed training needs an initialised torch.distributed group")
    return dist.get_rank(), dist.get_world_size()


def _member(net: Autoencoder, cfg: TrainingConfig) -> _Member:
    device = next(net.parameters()).device
    device_ids = [device] if device.type == "cuda" else None
    if device.type == "cuda":
        # Batch statistics over the global batch. SyncBatchNorm has no CPU kernel, so on gloo
        # each rank normalises over its share (batch_size / devices rows): keep that share >= 64.
        nn.SyncBatchNorm.convert_sync_batchnorm(net)  # type: ignore[no-untyped-call]
    replica = _Replica(net, device_ids=device_ids)  # broadcasts rank 0's weights
    return _Member(net, replica, make_optimizer(net, cfg))


def _shard(perm: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """This rank's rows of `perm`, padded by wrapping so that every rank gets as many."""
    total = math.ceil(perm.shape[0] / world) * world
    padded = perm.repeat(math.ceil(total / perm.shape[0]))[:total]
    return padded[rank::world]


def _train_epoch(
    m: _Member, x: torch.Tensor, cfg: TrainingConfig, gen: torch.Generator, rank: int, world: int
) -> float:
    m.replica.train()  # type: ignore[no-untyped-call]
    mine = _shard(torch.randperm(x.shape[0], generator=gen), rank, world).to(x.device)
    step = math.ceil(cfg.batch_size / world)  # rows per rank of one global batch
    sums = torch.zeros(2, dtype=torch.float64, device=x.device)  # loss × rows, rows
    for start in range(0, mine.shape[0], step):
        xb = x[mine[start : start + step]]
        if xb.shape[0] < 2 and x.shape[0] >= 2 and m.net.arch.normalization == "batch":
            continue  # batch norm cannot train on one row; equal shards make every rank skip
        loss = batch_loss(cast(Autoencoder, m.replica), xb)
        m.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        if cfg.gradient_clip is not None:
            nn.utils.clip_grad_norm_(m.net.parameters(), cfg.gradient_clip)
        m.optimizer.step()
        sums[0] += loss.detach() * xb.shape[0]
        sums[1] += xb.shape[0]
    dist.all_reduce(sums)
    return float(sums[0] / sums[1].clamp(min=1))


def _val_losses(active: list[_Member], x_val: torch.Tensor, rank: int, world: int) -> list[float]:
    """Each member's mean squared error over all validation rows, computed a shard per rank."""
    part = x_val[rank::world]
    sums = torch.zeros(len(active), dtype=torch.float64, device=x_val.device)
    if part.shape[0] > 0:
        for i, m in enumerate(active):
            sums[i] = reconstruction_loss(m.net, part) * part.numel()
    dist.all_reduce(sums)
    return [float(s) / x_val.numel() for s in sums]


def _track_best(m: _Member, loss: float, epoch: int, patience: int) -> None:
    if loss < m.best_loss:
        m.best_loss, m.best_epoch = loss, epoch
        m.best_state = copy.deepcopy(m.net.state_dict())
    elif patience > 0 and epoch - m.best_epoch >= patience:
        m.done = True


def _stop_requested(
    callback: EpochCallback | None, record: EpochRecord, rank: int, device: torch.device
) -> bool:
    """Rank 0 asks the callback; every rank gets its answer."""
    flag = torch.zeros(1, dtype=torch.int32, device=device)
    if rank == 0 and callback is not None:
        stop = callback(record.epoch, record.train_loss, record.val_loss, record.seconds)
        flag[0] = int(bool(stop))
    dist.broadcast(flag, src=0)
    return bool(flag.item())


def _restore_best(members: list[_Member], n_epochs: int) -> int:
    for m in members:
        if m.best_state is not None:
            m.net.load_state_dict(m.best_state)
    best = [m.best_epoch for m in members if m.best_state is not None]
    return max(best) if best else n_epochs


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)
