"""Entry point of a training child process (multiprocessing spawn context)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from functools import partial

import torch

from service.jobs.spec import TrainerSpec
from service.jobs.training import train_here
from service.logs import configure_logging
from service.store.db import make_engine, make_session_factory, transaction


def run_child(spec: TrainerSpec, run_id: int) -> None:
    """Train one run in this process with its own engine and thread budget."""
    configure_logging(spec.log_level, spec.log_format)
    os.nice(spec.nice)
    torch.set_num_threads(spec.torch_threads)
    stopping = threading.Event()  # SIGTERM (server shutdown): hand the run back after this epoch
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.set())
    engine = make_engine(spec.database_url, answer_seconds=spec.database_timeout)
    try:
        unit = partial(transaction, make_session_factory(engine))
        outcome = train_here(unit, run_id, device=spec.device, interrupted=stopping.is_set)
        logging.getLogger(__name__).info("child done", extra={"run_id": run_id, "action": outcome})
    finally:
        engine.dispose()
