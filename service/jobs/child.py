"""Entry point of a training child process (multiprocessing spawn context)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from functools import partial

import torch

from service.domain.training import train_run
from service.jobs.distributed import fit_detector
from service.jobs.spec import TrainerSpec
from service.logs import configure_logging
from service.store.db import make_engine, make_session_factory, transaction


def worker_name() -> str:
    """`host:pid` of this process, recorded on the runs it trains."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_child(spec: TrainerSpec, run_id: int) -> None:
    """Train one run in this process with its own engine and thread budget."""
    configure_logging(spec.log_level, spec.log_format)
    torch.set_num_threads(spec.torch_threads)
    stopping = threading.Event()  # SIGTERM (server shutdown): hand the run back after this epoch
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.set())
    engine = make_engine(spec.database_url)
    try:
        unit = partial(transaction, make_session_factory(engine))
        outcome = train_run(
            unit,
            run_id,
            worker=worker_name(),
            device=spec.device,
            fit=fit_detector,
            interrupted=stopping.is_set,
        )
        logging.getLogger(__name__).info("child done", extra={"run_id": run_id, "action": outcome})
    finally:
        engine.dispose()
