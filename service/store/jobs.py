"""The procrastinate job of a run, written in the caller's transaction (PostgreSQL only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

TRAINING_QUEUE = "training"
CUDA_QUEUE = "training-cuda"  # runs that ask for training.device "cuda": CUDA workers only
TRAINING_TASK = "hourglass.train_run"
SWEEP_TASK = "hourglass.step_sweep"  # one coordinator step of a sweep (service/domain/sweeps.py)

_DEFER = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW("
    ":queue, :task, 0, :lock, :queueing_lock, CAST(:args AS jsonb), "
    "CAST(:scheduled_at AS timestamptz)"
    ")::procrastinate_job_to_defer_v1])"
)


def run_lock(run_id: int) -> str:
    """Procrastinate lock of a run's jobs: at most one attempt of a run is ever `doing`."""
    return f"run-{run_id}"


def defer_training_job(session: Session, run_id: int, *, queue: str = TRAINING_QUEUE) -> None:
    """Insert the run's training job through procrastinate's own SQL function."""
    session.execute(
        _DEFER,
        {
            "queue": queue,
            "task": TRAINING_TASK,
            "lock": run_lock(run_id),
            "queueing_lock": run_lock(run_id),
            "args": orjson.dumps({"run_id": run_id}).decode(),
            "scheduled_at": None,
        },
    )


def defer_sweep_step(session: Session, sweep_id: int, *, delay_seconds: float = 0.0) -> None:
    """Insert a coordinator step of the sweep (at most one waiting and one running at a time:
    when one is waiting already, this one is not needed)."""
    lock = f"sweep-{sweep_id}"
    at = (datetime.now(UTC) + timedelta(seconds=delay_seconds)).isoformat()
    values = {
        "queue": TRAINING_QUEUE,
        "task": SWEEP_TASK,
        "lock": lock,
        "queueing_lock": lock,
        "args": orjson.dumps({"sweep_id": sweep_id}).decode(),
        "scheduled_at": at,
    }
    try:
        with session.begin_nested():
            session.execute(_DEFER, values)
    except IntegrityError:
        pass  # a step of this sweep is waiting already


def libpq_conninfo(url: str) -> str:
    """The libpq URL procrastinate's psycopg connector wants, from a SQLAlchemy URL."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise ValueError("procrastinate workers need a PostgreSQL HOURGLASS_DATABASE_URL")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)
