"""How the processes that train (embedded children, `hourglass worker`, `hourglass train`) run one
run: the fit they hand down to the training job, and the name they record on the run."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from models import Detector, DetectorConfig, EpochCallback
from service.domain.training import EpochObserver, Outcome, UnitOfWork, train_run
from service.jobs.distributed import fit_with_torchrun


def worker_name() -> str:
    """`host:pid` of this process, recorded on the runs it trains."""
    return f"{socket.gethostname()}:{os.getpid()}"


def fit_detector(
    config: DetectorConfig, x: np.ndarray, columns: list[str], callback: EpochCallback
) -> Detector:
    """The training job's fit: in this process, or under torchrun when `training.devices` > 1."""
    if config.training.devices <= 1:
        return Detector(config).fit(x, columns=columns, callback=callback)
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
