"""How the processes that train (embedded children, `hourglass worker`, `hourglass train`) run one
run: the fit they hand down to the training job, and the name they record on the run."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from models import Detector, DetectorConfig, EpochCallback, InvalidInput
from models.detector import LayerCallback
from service.domain.training import EpochObserver, Outcome, UnitOfWork, train_run
from service.jobs.distributed import fit_with_torchrun


def worker_name() -> str:
    """`host:pid` of this process, recorded on the runs it trains."""
    return f"{socket.gethostname()}:{os.getpid()}"


def check_capacity(config: DetectorConfig) -> None:
    """InvalidInput, naming the field, when this machine cannot train the config: the run then
    fails at once with that message instead of an AssertionError deep in torch."""
    training = config.training
    cuda = torch.cuda.is_available()
    if training.device == "cuda" and not cuda:
        raise InvalidInput("training.device: cuda was asked for; this worker has no CUDA device")
    on_gpus = training.device == "cuda" or (training.device == "auto" and cuda)
    capacity = torch.cuda.device_count() if on_gpus else os.cpu_count() or 1
    if training.devices > capacity:
        unit = "GPUs" if on_gpus else "CPU cores"
        raise InvalidInput(
            f"training.devices: {training.devices} processes were asked for; this worker has "
            f"{capacity} {unit}"
        )


def fit_detector(
    config: DetectorConfig,
    x: np.ndarray,
    columns: list[str],
    callback: EpochCallback,
    on_layers: LayerCallback,
) -> Detector:
    """The training job's fit: in this process, or under torchrun when `training.devices` > 1
    (per-epoch layer statistics are measured in this process only)."""
    check_capacity(config)
    if config.training.devices <= 1:
        return Detector(config).fit(x, columns=columns, callback=callback, on_layers=on_layers)
    with tempfile.TemporaryDirectory(prefix="hourglass-ddp-") as workdir:
        return fit_with_torchrun(
            x, config=config, columns=columns, callback=callback, workdir=Path(workdir)
        )


def train_here(
    unit: UnitOfWork,
    run_id: int,
    *,
    device: str,
    interrupted: Callable[[], bool] | None = None,
    observer: EpochObserver | None = None,
) -> Outcome:
    """Train one queued run in this process (or its torchrun group), recorded as this worker's."""
    return train_run(
        unit,
        run_id,
        worker=worker_name(),
        device=device,
        fit=fit_detector,
        interrupted=interrupted,
        observer=observer,
    )
