"""Entry point of a training child process (multiprocessing spawn context)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass
from functools import partial

import torch

from service.domain.training import train_run
from service.jobs.distributed import fit_any
from service.logs import configure_logging
from service.store.db import make_engine, make_session_factory, transaction


@dataclass(frozen=True)
class ChildSpec:
    """Everything a child needs: it reads no settings of its own."""

    database_url: str
    run_id: int
    torch_threads: int
    device: str
    log_level: str
    log_format: str


def worker_name() -> str:
    """`host:pid` of this process, recorded on the runs it trains."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_child(spec: ChildSpec) -> None:
    """Train one run in this process with its own engine and thread budget."""
    configure_logging(spec.log_level, spec.log_format)
    torch.set_num_threads(spec.torch_threads)
    stopping = threading.Event()  # SIGTERM (server shutdown): hand the run back after this epoch
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.set())
    engine = make_engine(spec.database_url)
    try:
        unit = partial(transaction, make_session_factory(engine))
        status = train_run(
            unit,
            spec.run_id,
            worker=worker_name(),
            device=spec.device,
            fit=fit_any,
            interrupted=stopping.is_set,
        )
        logging.getLogger(__name__).info(
            "child done", extra={"run_id": spec.run_id, "action": status}
        )
    finally:
        engine.dispose()
