"""The procrastinate job of a run, written in the caller's transaction (PostgreSQL only)."""

from __future__ import annotations

import orjson
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

TRAINING_QUEUE = "training"
CUDA_QUEUE = "training-cuda"  # runs that ask for training.device "cuda": CUDA workers only
TRAINING_TASK = "hourglass.train_run"

_DEFER = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW("
    ":queue, :task, 0, :lock, :queueing_lock, CAST(:args AS jsonb), NULL"
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
        },
    )


def libpq_conninfo(url: str) -> str:
    """The libpq URL procrastinate's psycopg connector wants, from a SQLAlchemy URL."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise ValueError("procrastinate workers need a PostgreSQL HOURGLASS_DATABASE_URL")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)
