"""The embedded executor: start-up reconciliation of interrupted runs, and retries.

Reconciliation by the server is the embedded (SQLite) mode; on PostgreSQL procrastinate finds
stalled jobs instead (tests/service/jobs/test_workers.py).
"""

from __future__ import annotations

import socket
import time

import pytest
from sqlalchemy import update

from service.jobs.embedded import EmbeddedQueue
from service.jobs.spec import TrainerSpec
from service.store.db import make_engine, make_session_factory, transaction
from service.store.tables import Run
from tests.service.conftest import (
    live_client,
    migrate,
    normal_rows,
    start_run,
    upload_rows,
    wait_for_run,
)

DEAD_PID = 4_194_303  # above any pid_max default: never a live process


@pytest.fixture
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite database: the embedded mode."""
    return migrate(f"sqlite:///{tmp_path_factory.mktemp('embedded') / 'h.db'}")


def _mark_running(url: str, run_id: int, *, attempts: int) -> None:
    """Leave the run as a killed server would: `running`, owned by a dead process."""
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        session.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(
                status="running", worker=f"{socket.gethostname()}:{DEAD_PID}", attempts=attempts
            )
        )
    engine.dispose()


def test_interrupted_run_is_retried_at_start_up(sqlite_url: str) -> None:
    database_url = sqlite_url
    with live_client(database_url, embedded_workers=0) as idle:
        dataset = upload_rows(idle, normal_rows(100, 4))
        run = start_run(idle, dataset["id"], "retried")
    _mark_running(database_url, run["id"], attempts=1)
    with live_client(database_url) as client:
        finished = wait_for_run(client, run["id"])
    assert finished["status"] == "succeeded", finished
    assert finished["attempts"] == 2
    assert not finished["worker"].endswith(f":{DEAD_PID}")


def test_run_out_of_attempts_fails_with_a_readable_error(sqlite_url: str) -> None:
    database_url = sqlite_url
    with live_client(database_url, embedded_workers=0) as idle:
        dataset = upload_rows(idle, normal_rows(100, 4))
        run = start_run(idle, dataset["id"], "doomed")
    _mark_running(database_url, run["id"], attempts=3)
    with live_client(database_url, embedded_workers=0, max_attempts=3) as idle:
        pass
    with live_client(database_url) as client:
        finished = client.get(f"/v1/runs/{run['id']}").json()
    assert finished["status"] == "failed"
    assert "interrupted" in finished["error"] and "3 attempts" in finished["error"]


def test_queued_runs_left_behind_are_trained_at_start_up(database_url: str) -> None:
    with live_client(database_url, embedded_workers=0) as idle:
        dataset = upload_rows(idle, normal_rows(100, 4))
        run = start_run(idle, dataset["id"], "left")
    with live_client(database_url) as client:
        assert wait_for_run(client, run["id"])["status"] == "succeeded"


def test_failed_training_keeps_a_readable_error(database_url: str) -> None:
    with live_client(database_url) as client:
        dataset = upload_rows(client, normal_rows(2, 4))  # valid table, too small to train on
        run = start_run(client, dataset["id"], "too-small")
        finished = wait_for_run(client, run["id"])
    assert finished["status"] == "failed" and finished["model_version"] is None
    assert "too few" in finished["error"] and "Traceback" not in finished["error"]
    assert finished["finished_at"] is not None


def test_shutdown_hands_a_training_run_back_to_the_queue(sqlite_url: str) -> None:
    long = {"training": {"epochs": 5000, "batch_size": 8, "early_stopping_patience": 0}}
    with live_client(sqlite_url) as client:
        dataset = upload_rows(client, normal_rows(200, 4))
        run = start_run(client, dataset["id"], "handed-back", **long)
        deadline = time.monotonic() + 120
        while not client.get(f"/v1/runs/{run['id']}/epochs").json()["items"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    with live_client(sqlite_url, embedded_workers=0) as idle:
        back = idle.get(f"/v1/runs/{run['id']}").json()
        assert back["status"] == "queued" and "handed back" in back["error"]
        assert idle.post(f"/v1/runs/{run['id']}/cancel").json()["status"] == "cancelled"


class _DyingQueue(EmbeddedQueue):
    """An executor whose job loop dies of what its `except Exception` does not catch."""

    def _spawn(self) -> None:
        raise SystemExit("the job loop dies")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # its death
def test_a_dead_job_loop_is_reported_by_health(sqlite_url: str) -> None:
    """/readyz asks the queue's health(): the embedded executor's worker is its job loop."""
    engine = make_engine(sqlite_url)
    queue = _DyingQueue(
        make_session_factory(engine), TrainerSpec(sqlite_url), workers=1, poll_seconds=0.05
    )
    assert queue.health() == ["the training job loop has stopped"]  # not started yet
    queue.start()
    deadline = time.monotonic() + 10
    while not queue.health():
        assert time.monotonic() < deadline, "the dying loop was never reported"
        time.sleep(0.05)
    assert queue.health() == ["the training job loop has stopped"]
    queue.stop()
    assert queue.health() == []  # a stopping server is not unready for it
    engine.dispose()
