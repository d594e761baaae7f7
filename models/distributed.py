"""Training one Detector on several processes with torch.distributed DDP (gloo on CPU, nccl on CUDA).

Every rank holds all rows. Each epoch every rank draws the same seeded permutation, takes its shard
of it and a 1/world share of every global batch of `batch_size` rows; DDP averages the gradients, so
a step sees what a one-process step on the whole batch would. Losses are all-reduced, so early
stopping is decided identically on every rank; rank 0 reports epochs through the callback and
broadcasts its stop answer. The epoch loop itself is the trainer's (`models.trainer.run_epochs`):
only the step, the validation and the stop decision differ. The caller initialises the process
group (the service's torchrun entry point does); nothing here reads the environment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import cast

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from models.autoencoder import Autoencoder
from models.config import ArchitectureConfig, TrainingConfig
from models.detector import Detector
from models.flat import make_optimizer
from models.objective import batch_loss, reconstruction_loss
from models.trainer import (
    EpochCallback,
    EpochRecord,
    Member,
    StopRule,
    TrainResult,
    Validate,
    run_epochs,
    stop_by_callback,
)


class _Replica(DistributedDataParallel):
    """DDP around an Autoencoder that still answers `.arch`, so `batch_loss` can drive it."""

    @property
    def arch(self) -> ArchitectureConfig:
        return cast(Autoencoder, self.module).arch


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
    return detector.fit(x, columns, callback, trainer=train_distributed, device=device)


def train_distributed(
    nets: Sequence[Autoencoder],
    x_train: torch.Tensor,
    x_val: torch.Tensor | None,
    cfg: TrainingConfig,
    callback: EpochCallback | None = None,
) -> TrainResult:
    """Train every net in lockstep on this rank's shards; restore each net's best epoch."""
    rank, world = _require_process_group()
    members = [Member(net, _ddp_step(net, x_train, cfg, rank, world)) for net in nets]
    validate = None
    if x_val is not None and x_val.shape[0] > 0:
        validate = _validation(x_val, rank, world)
    stop = _broadcast_stop(stop_by_callback(callback), rank, x_train.device)
    return run_epochs(members, cfg, validate=validate, stop=stop)


def _require_process_group() -> tuple[int, int]:
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError("distributed training needs an initialised torch.distributed group")
    return dist.get_rank(), dist.get_world_size()


def _ddp_step(
    net: Autoencoder, x: torch.Tensor, cfg: TrainingConfig, rank: int, world: int
) -> partial[float]:
    device = next(net.parameters()).device
    device_ids = [device] if device.type == "cuda" else None
    if device.type == "cuda":
        # Batch statistics over the global batch. SyncBatchNorm has no CPU kernel, so on gloo
        # each rank normalises over its share (batch_size / devices rows): keep that share >= 64.
        nn.SyncBatchNorm.convert_sync_batchnorm(net)  # type: ignore[no-untyped-call]
    replica = _Replica(net, device_ids=device_ids)  # broadcasts rank 0's weights
    return partial(_train_epoch, replica, make_optimizer(net, cfg), x, cfg, rank, world)


def _shard(perm: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """This rank's rows of `perm`, padded by wrapping so that every rank gets as many."""
    total = math.ceil(perm.shape[0] / world) * world
    padded = perm.repeat(math.ceil(total / perm.shape[0]))[:total]
    return padded[rank::world]


def _train_epoch(
    replica: _Replica,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    cfg: TrainingConfig,
    rank: int,
    world: int,
    gen: torch.Generator,
) -> float:
    replica.train()  # type: ignore[no-untyped-call]
    net = cast(Autoencoder, replica.module)
    mine = _shard(torch.randperm(x.shape[0], generator=gen), rank, world).to(x.device)
    step = math.ceil(cfg.batch_size / world)  # rows per rank of one global batch
    sums = torch.zeros(2, dtype=torch.float64, device=x.device)  # loss × rows, rows
    for start in range(0, mine.shape[0], step):
        xb = x[mine[start : start + step]]
        if xb.shape[0] < 2 and x.shape[0] >= 2 and net.arch.normalization == "batch":
            continue  # batch norm cannot train on one row; equal shards make every rank skip
        loss = batch_loss(cast(Autoencoder, replica), xb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        if cfg.gradient_clip is not None:
            nn.utils.clip_grad_norm_(net.parameters(), cfg.gradient_clip)
        optimizer.step()
        sums[0] += loss.detach() * xb.shape[0]
        sums[1] += xb.shape[0]
    dist.all_reduce(sums)
    return float(sums[0] / sums[1].clamp(min=1))


def _validation(x_val: torch.Tensor, rank: int, world: int) -> Validate:
    """Each net's mean squared error over all validation rows, computed a shard per rank."""
    part = x_val[rank::world]

    def validate(nets: Sequence[Autoencoder]) -> list[float]:
        sums = torch.zeros(len(nets), dtype=torch.float64, device=x_val.device)
        if part.shape[0] > 0:
            for i, net in enumerate(nets):
                sums[i] = reconstruction_loss(net, part) * part.numel()
        dist.all_reduce(sums)
        return [float(s) / x_val.numel() for s in sums]

    return validate


def _broadcast_stop(stop: StopRule, rank: int, device: torch.device) -> StopRule:
    """Rank 0 asks the stop rule; every rank gets its answer."""

    def broadcast(record: EpochRecord) -> bool:
        flag = torch.zeros(1, dtype=torch.int32, device=device)
        if rank == 0:
            flag[0] = int(bool(stop(record)))
        dist.broadcast(flag, src=0)
        return bool(flag.item())

    return broadcast
